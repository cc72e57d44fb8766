"""The platform REST API for regulatory orders, at /api/v1/platform/orders/ (staff only), so
that compliance tooling can file orders and follow them to their certificate."""

from __future__ import annotations

import base64
import binascii

from django.http import Http404
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.errors import ApiError
from portal.compliance import selectors, services
from portal.compliance.audit import Actor
from portal.compliance.authentication import IsPlatformOperator, StaffTokenAuthentication
from portal.compliance.models import RegulatoryOrder
from tenants.models import Tenant


def _actor(request) -> Actor:
    token = request.auth if not isinstance(request.successful_authenticator, SessionAuthentication) else None
    label = request.user.email + (f" (platform token {token.prefix})" if token is not None else "")
    return Actor(label=label, user_id=request.user.pk, ip_address=request.META.get("REMOTE_ADDR"))


def _order_or_404(order_id: int) -> RegulatoryOrder:
    try:
        return selectors.order_get(order_id=order_id)
    except RegulatoryOrder.DoesNotExist:
        raise Http404 from None


def _service_error(error: services.OrderInvalid) -> ApiError:
    return ApiError(error.message, code=error.code, status_code=error.http_status,
                    fields={error.field: [error.message]} if error.field else None)


def order_data(order: RegulatoryOrder) -> dict:
    return {
        "id": order.pk, "kind": order.kind, "authority": order.authority, "reference": order.reference,
        "description": order.description, "status": order.status, "regions": order.regions,
        "include_unknown_region": order.include_unknown_region, "domains": order.domains,
        "match_threshold": order.match_threshold, "offboard_tenant_ids": order.offboard_tenant_ids,
        "scope_all": order.scope_all, "scope_tenant_ids": order.scope_tenant_ids,
        "scope_platform_index": order.scope_platform_index, "received_on": order.received_on,
        "effective_at": order.effective_at, "deadline": order.deadline, "created_at": order.created_at,
        "activated_at": order.activated_at, "enforcement_started_at": order.enforcement_started_at,
        "completed_at": order.completed_at, "verified_at": order.verified_at,
        "progress": {"percent": order.progress_percent, "covered": order.covered, "deleted": order.deleted},
        "verification": order.verification, "certificate_available": bool(order.certificate),
    }


class Base64PictureField(serializers.CharField):
    def to_internal_value(self, data):
        try:
            return base64.b64decode(super().to_internal_value(data), validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.") from None


class OrderCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RegulatoryOrder.Kind.choices)
    authority = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    received_on = serializers.DateField()
    effective_at = serializers.DateTimeField()
    deadline = serializers.DateField()
    regions = serializers.ListField(child=serializers.CharField(max_length=6), required=False, default=list)
    include_unknown_region = serializers.BooleanField(required=False, default=False)
    domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False, default=list)
    reference_pictures = serializers.ListField(child=Base64PictureField(), required=False, default=list, max_length=5)
    match_threshold = serializers.FloatField(required=False, allow_null=True, default=None)
    offboard_tenants = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    scope_all = serializers.BooleanField(required=False, default=True)
    scope_tenants = serializers.ListField(child=serializers.SlugField(), required=False, default=list)
    scope_platform_index = serializers.BooleanField(required=False, default=True)

    def _tenants(self, slugs):
        tenants = list(Tenant.objects.filter(slug__in=slugs))
        missing = set(slugs) - {t.slug for t in tenants}
        if missing:
            raise serializers.ValidationError(f"Unknown tenant(s): {', '.join(sorted(missing))}.")
        return tenants

    def validate_offboard_tenants(self, slugs):
        return self._tenants(slugs)

    def validate_scope_tenants(self, slugs):
        return self._tenants(slugs)


class PlatformApiView(APIView):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [IsPlatformOperator]
    # Kept out of the tenants' OpenAPI document; docs/compliance.md describes it.
    schema = None


class OrderListView(PlatformApiView):
    def get(self, request):
        orders = selectors.orders_list(status=request.query_params.get("status") or None,
                                       kind=request.query_params.get("kind") or None)[:500]
        return Response({"results": [order_data(order) for order in orders]})

    def post(self, request):
        from portal.faces.errors import FaceEngineError

        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            order = services.order_create(actor=_actor(request), **serializer.validated_data)
        except services.OrderInvalid as error:
            raise _service_error(error) from None
        except FaceEngineError as error:
            raise ApiError(error.message, code=error.code, status_code=error.http_status,
                           fields={"reference_pictures": [error.message]}) from None
        return Response(order_data(order), status=201)


class OrderDetailView(PlatformApiView):
    def get(self, request, order_id):
        order = _order_or_404(order_id)
        return Response({**order_data(order), "galleries": selectors.order_progress(order=order)})


class OrderPreviewView(PlatformApiView):
    def get(self, request, order_id):
        return Response(selectors.order_preview(order=_order_or_404(order_id)))


class OrderActivateView(PlatformApiView):
    def post(self, request, order_id):
        from django.db import transaction

        from portal.compliance.tasks import order_enforce

        try:
            order = services.order_activate(order=_order_or_404(order_id), actor=_actor(request))
        except services.OrderInvalid as error:
            raise _service_error(error) from None
        transaction.on_commit(lambda: order_enforce.delay(order.pk))
        return Response(order_data(order))


class OrderCertificateView(PlatformApiView):
    def get(self, request, order_id):
        order = _order_or_404(order_id)
        if not order.certificate:
            raise ApiError("The order has no certificate yet: it is issued once deletion is verified.",
                           code="not_ready", status_code=409)
        return Response(order.certificate)

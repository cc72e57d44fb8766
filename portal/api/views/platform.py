"""The platform REST API at /api/v1/platform/ (operators only), so that compliance tooling can
file orders and follow them to their certificate. It stands on the same base as the tenant API
(portal/api/base.py): one error shape, scopes, rate limits, the request-size limit and
Idempotency-Key. Its OpenAPI document is its own, for operators, at /api/v1/platform/schema/."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView
from drf_spectacular.views import SpectacularAPIView

from portal.api.base import PortalApiView
from portal.api.errors import ApiError
from portal.api.platform_authentication import StaffTokenAuthentication
from portal.api.serializers import Base64PictureField
from portal.api.throttles import PlatformCallerRateThrottle
from portal.audit.services import Actor
from portal.compliance import orders as order_services
from portal.compliance.certificates import order_certificate_signed
from portal.compliance import selectors
from portal.compliance.models import RegulatoryOrder
from portal.compliance.tasks import order_enforce
from portal.platform.models import PlatformScope, StaffApiToken
from tenants.context import dangerously_unscoped, scope_on_commit
from tenants.models import Tenant
from django.utils.translation import gettext as _, gettext_lazy


class PlatformApiView(PortalApiView):
    """An operator's endpoint: a staff token (its scopes) or a staff session that passed
    two-factor (every scope). Anyone else signed in gets 404 for every method, as the platform
    pages answer; a staff session without two-factor gets 403."""

    not_authenticated_message = (gettext_lazy('Send a platform token ("Authorization: Bearer <token>", made by '
                                 '`manage.py platform_token_create`) or sign in to the platform area.'))
    credential_name = "platform token"

    def get_authenticators(self):
        return [StaffTokenAuthentication(), SessionAuthentication()]

    def caller_admit(self, request) -> None:
        user = request.user
        if not (user.is_active and user.is_staff):
            raise Http404
        if not isinstance(request.auth, StaffApiToken) and not user.is_verified():
            raise exceptions.PermissionDenied(_("Verify your two-factor code in the platform area first."))

    def caller_context(self, request):
        # One transaction on the platform's connection for the whole request, stored response
        # included (tenants.context).
        return dangerously_unscoped(reason="a platform API request")

    def caller_throttles(self) -> list:
        return [PlatformCallerRateThrottle()]

    def caller_has_scope(self, request, scope: str) -> bool:
        token = request.auth
        return token.has_scope(scope) if isinstance(token, StaffApiToken) else True

    def actor(self) -> Actor:
        token = self.request.auth
        label = self.request.user.email + (f" (platform token {token.prefix})" if token is not None else "")
        return Actor(label=label, user_id=self.request.user.pk, ip_address=self.request.META.get("REMOTE_ADDR"))

    def idempotency_owner(self) -> dict:
        return {"tenant": None, "staff_user": self.request.user}

    def idempotency_context(self):
        return dangerously_unscoped(reason="the platform API's stored responses have no tenant")

    def order_or_404(self, order_id: int) -> RegulatoryOrder:
        try:
            return selectors.order_get(order_id=self.object_id(order_id))
        except RegulatoryOrder.DoesNotExist:
            raise Http404 from None


class PlatformSchemaView(PlatformApiView, SpectacularAPIView):
    """The platform API's own OpenAPI document, for operators only."""

    required_scopes = {"GET": PlatformScope.ORDERS_READ.value}
    custom_settings = {"PREPROCESSING_HOOKS": ["portal.api.schema.platform_endpoints_only"],
                       "TITLE": "Face search portal: platform API",
                       "DESCRIPTION": "Regulatory orders for the operator's compliance tooling. See docs/compliance.md."}

    def perform_content_negotiation(self, request, force=False):
        return APIView.perform_content_negotiation(self, request, force)


READ = {"GET": PlatformScope.ORDERS_READ.value}
READ_WRITE = {"GET": PlatformScope.ORDERS_READ.value, "POST": PlatformScope.ORDERS_WRITE.value}


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
            raise serializers.ValidationError(_("Unknown tenant(s): %(tenants)s.") % {"tenants": ', '.join(sorted(missing))})
        return tenants

    def validate_offboard_tenants(self, slugs):
        return self._tenants(slugs)

    def validate_scope_tenants(self, slugs):
        return self._tenants(slugs)


class OrderListView(PlatformApiView):
    required_scopes = READ_WRITE

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Orders, newest first (filter by status and kind)",
                   operation_id="platform_orders_list")
    def get(self, request):
        orders = selectors.orders_list(status=request.query_params.get("status") or None,
                                       kind=request.query_params.get("kind") or None)[:500]
        return Response({"results": [order_data(order) for order in orders]})

    @extend_schema(request=OrderCreateSerializer, responses={201: OpenApiTypes.OBJECT},
                   summary="File an order as a draft",
                   operation_id="platform_orders_create")
    def post(self, request):
        data = self.body_validated(OrderCreateSerializer)
        order = order_services.order_create(actor=self.actor(), **data)
        return Response(order_data(order), status=201)


class OrderDetailView(PlatformApiView):
    required_scopes = READ

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="An order with its progress per gallery",
                   operation_id="platform_order_retrieve")
    def get(self, request, order_id):
        order = self.order_or_404(order_id)
        return Response({**order_data(order), "galleries": selectors.order_progress(order=order)})


class OrderPreviewView(PlatformApiView):
    required_scopes = READ

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="What the order covers now, per gallery, and the tenants it will block from ingesting pictures of unknown region",
                   operation_id="platform_order_preview")
    def get(self, request, order_id):
        return Response(selectors.order_preview(order=self.order_or_404(order_id)))


class OrderActivateView(PlatformApiView):
    required_scopes = {"GET": PlatformScope.ORDERS_WRITE.value}

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT,
                   summary="Put a draft in force (irreversible) and start its enforcement",
                   operation_id="platform_order_activate")
    def post(self, request, order_id):
        order = order_services.order_activate(order=self.order_or_404(order_id), actor=self.actor())
        scope_on_commit(lambda: order_enforce.delay(order.pk))
        return Response(order_data(order))


class OrderCertificateView(PlatformApiView):
    required_scopes = READ

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="The enforcement certificate, once verified",
                   operation_id="platform_order_certificate")
    def get(self, request, order_id):
        order = self.order_or_404(order_id)
        if not order.certificate:
            raise ApiError(_("The order has no certificate yet: it is issued once deletion is verified."),
                           code="not_ready", status_code=409)
        return Response(order.certificate)


class OrderCertificateSignedView(PlatformApiView):
    required_scopes = READ

    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The enforcement certificate as a signed file (canonical JSON, Ed25519)",
                   description="The bytes are the signed file itself: save them unchanged and check them with "
                               "`manage.py certificate_verify` or the procedure in docs/compliance.md.",
                   operation_id="platform_order_certificate_signed")
    def get(self, request, order_id):
        order = self.order_or_404(order_id)
        data = order_certificate_signed(order=order, actor=self.actor())
        response = HttpResponse(data, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="certificate-{order.reference}.signed.json"'
        return response

"""Reading API keys, a tenant's API settings, stored idempotent responses and the audit log."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from portal.api.models import ApiKey, IdempotencyRecord, TenantApiSettings
from portal.compliance.models import AuditEvent
from portal.gallery.models import Face
from portal.search.models import SearchMatch
from tenants.models import Tenant


def api_keys_list(*, tenant: Tenant):
    """The tenant's keys, newest first, revoked ones included (they say when they were revoked)."""
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")


def api_key_get(*, tenant: Tenant, api_key_id: int) -> ApiKey:
    return ApiKey.objects.filter(tenant=tenant).get(pk=api_key_id)


def tenant_rate_limits(*, tenant: Tenant) -> tuple[str, str]:
    """(per key, per tenant) rate limits in force for the tenant."""
    own = TenantApiSettings.objects.filter(tenant=tenant).first()
    return (
        (own.rate_limit_per_key if own else "") or settings.API_RATE_LIMIT_PER_KEY,
        (own.rate_limit_per_tenant if own else "") or settings.API_RATE_LIMIT_PER_TENANT,
    )


def idempotency_record_get(*, tenant: Tenant, key: str, not_before: datetime) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(tenant=tenant, key=key, created_at__gte=not_before).first()


def audit_events_list(*, tenant: Tenant, action: str | None = None, created_from: datetime | None = None,
                      created_to: datetime | None = None):
    events = AuditEvent.objects.filter(tenant=tenant)
    if action:
        events = events.filter(action=action)
    if created_from is not None:
        events = events.filter(created_at__gte=created_from)
    if created_to is not None:
        events = events.filter(created_at__lt=created_to)
    return events.order_by("-seq")


def face_crop_get(*, tenant: Tenant, face_uuid) -> Face:
    """A face whose crop the tenant may see: one of its own gallery, or a platform-index face that
    one of its searches returned (RLS also hides the platform index from tenants not entitled to
    it). Withheld faces are covered by an order: their crops are never served again."""
    face = Face.objects.filter(tenant=tenant, uuid=face_uuid, withheld=False).first()
    if face is not None:
        return face
    match = (SearchMatch.objects.filter(tenant=tenant, face__uuid=face_uuid, face__withheld=False,
                                        face__tenant__isnull=True)
             .select_related("face").first())
    if match is None:
        raise Face.DoesNotExist
    return match.face

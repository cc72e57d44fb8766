"""Reading API keys, a tenant's API settings and stored idempotent responses."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from portal.api.models import ApiKey, IdempotencyRecord, TenantApiSettings
from tenants.models import Tenant


def api_keys_list(*, tenant: Tenant):
    """The tenant's keys, newest first, revoked ones included (they say when they were revoked)."""
    return ApiKey.objects.filter(tenant=tenant).select_related("created_by").order_by("-created_at", "-id")


def api_key_get(*, tenant: Tenant, public_id) -> ApiKey:
    return ApiKey.objects.filter(tenant=tenant).get(public_id=public_id)


def tenant_rate_limits(*, tenant: Tenant) -> tuple[str, str]:
    """(per key, per tenant) rate limits in force for the tenant."""
    own = TenantApiSettings.objects.filter(tenant=tenant).first()
    return (
        (own.rate_limit_per_key if own else "") or settings.API_RATE_LIMIT_PER_KEY,
        (own.rate_limit_per_tenant if own else "") or settings.API_RATE_LIMIT_PER_TENANT,
    )


def idempotency_record_get(*, owner: dict, key: str, not_before: datetime) -> IdempotencyRecord | None:
    """The stored response for `key` in the owner's namespace: a tenant's, or (tenant None) one
    operator's on the platform API."""
    records = IdempotencyRecord.objects.filter(key=key, created_at__gte=not_before)
    if owner["tenant"] is not None:
        return records.filter(tenant=owner["tenant"]).first()
    return records.filter(tenant__isnull=True, staff_user=owner["staff_user"]).first()

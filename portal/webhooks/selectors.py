"""Reading a tenant's endpoints and deliveries; an absent or foreign id raises DoesNotExist alike."""

from __future__ import annotations

from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.context import tenant_scope
from tenants.models import Tenant

SHOWN = 100


def webhook_endpoints_list(*, tenant: Tenant) -> list[WebhookEndpoint]:
    with tenant_scope(tenant):
        return list(WebhookEndpoint.objects.filter(tenant=tenant).order_by("-active", "-created_at"))


def webhook_endpoint_get(*, tenant: Tenant, public_id) -> WebhookEndpoint:
    with tenant_scope(tenant):
        return WebhookEndpoint.objects.get(tenant=tenant, public_id=public_id)


def webhook_deliveries_list(*, tenant: Tenant, limit: int = SHOWN) -> list[WebhookDelivery]:
    """The latest deliveries, newest first, with their endpoint."""
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.filter(tenant=tenant).select_related("endpoint", "replay_of")
                    .order_by("-id")[:limit])


def webhook_delivery_get(*, tenant: Tenant, public_id) -> WebhookDelivery:
    with tenant_scope(tenant):
        return WebhookDelivery.objects.select_related("endpoint").get(tenant=tenant, public_id=public_id)

"""Endpoints (register, disable), events (emit) and replays. Deliveries: portal/webhooks/delivery.py."""

from __future__ import annotations

import secrets
import uuid
from contextlib import nullcontext

from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.webhooks.addresses import webhook_url_check
from portal.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint
from tenants.context import (scope_atomic, scope_is_unscoped, scope_on_commit, tenant_current_or_none,
                             tenant_scope)
from tenants.models import Tenant

MAX_ENDPOINTS = 10


def _deliveries_queue(delivery_ids: list[int]) -> None:
    from portal.webhooks.tasks import webhook_delivery_attempt

    for delivery_id in delivery_ids:
        webhook_delivery_attempt.delay(delivery_id)


def webhook_endpoint_create(*, tenant: Tenant, url: str, events: list[str], actor: Actor) -> tuple[WebhookEndpoint, str]:
    """Registers an endpoint; returns it and its signing secret, which is never shown again.
    A bad address or no event raises DomainError and stores nothing."""
    url = (url or "").strip()
    if len(url) > 500:
        raise DomainError(_("The address is too long (500 characters at most)."), field="url")
    webhook_url_check(url)
    chosen = list(dict.fromkeys(events or []))
    if not chosen or any(event not in EventType.values for event in chosen):
        raise DomainError(_("Choose at least one of the events."), field="events")
    with tenant_scope(tenant), scope_atomic():
        if WebhookEndpoint.objects.filter(tenant=tenant, active=True).count() >= MAX_ENDPOINTS:
            raise DomainError(_("A tenant has at most %(n)d active endpoints; disable one first.")
                              % {"n": MAX_ENDPOINTS}, field="url")
        secret = "whsec_" + secrets.token_urlsafe(32)
        endpoint = WebhookEndpoint.objects.create(tenant=tenant, url=url, secret=secret, events=chosen,
                                                  created_by_label=actor.label[:200])
        audit_record(action="webhook.endpoint_create", actor=actor, tenant=tenant, target_type="webhook_endpoint",
                     target_id=endpoint.public_id, details={"url": url, "events": chosen})
    return endpoint, secret


def webhook_endpoint_disable(*, tenant: Tenant, endpoint: WebhookEndpoint, actor: Actor) -> WebhookEndpoint:
    """Stops deliveries to the endpoint for good; its pending deliveries end as failed."""
    with tenant_scope(tenant), scope_atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk, tenant=tenant)
        if not endpoint.active:
            return endpoint
        endpoint.active, endpoint.disabled_at = False, timezone.now()
        endpoint.save(update_fields=["active", "disabled_at"])
        WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
            status=WebhookDelivery.Status.FAILED, completed_at=timezone.now(), error="The endpoint was disabled.")
        audit_record(action="webhook.endpoint_disable", actor=actor, tenant=tenant, target_type="webhook_endpoint",
                     target_id=endpoint.public_id, details={"url": endpoint.url})
    return endpoint


def webhook_event_emit(*, tenant: Tenant, event_type: str, data: dict) -> uuid.UUID | None:
    """Queues the event for each active endpoint of the tenant that chose it, in the caller's
    transaction (the deliveries exist if and only if the caller's change commits; they are sent
    after the commit). Returns the event id, or None when no endpoint wants it."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event {event_type}")
    current = tenant_current_or_none()
    in_scope = scope_is_unscoped() or (current is not None and current.pk == tenant.pk)
    with nullcontext() if in_scope else tenant_scope(tenant), scope_atomic():
        endpoints = list(WebhookEndpoint.objects.filter(tenant=tenant, active=True, events__contains=[event_type])
                         .order_by("id"))
        if not endpoints:
            return None
        event_id = uuid.uuid4()
        payload = {"id": str(event_id), "type": event_type, "created_at": timezone.now().isoformat(),
                   "tenant": tenant.slug, "data": data}
        created = WebhookDelivery.objects.bulk_create(
            WebhookDelivery(tenant=tenant, endpoint=endpoint, event_id=event_id, event_type=event_type,
                            payload=payload) for endpoint in endpoints)
        ids = [delivery.pk for delivery in created]
        scope_on_commit(lambda: _deliveries_queue(ids))
    return event_id


def webhook_delivery_replay(*, tenant: Tenant, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Sends the delivery's event again, as a new delivery with the same event id (receivers
    that deduplicate on the id see it once); after the endpoint's earlier pending deliveries."""
    with tenant_scope(tenant), scope_atomic():
        endpoint = WebhookEndpoint.objects.get(pk=delivery.endpoint_id, tenant=tenant)
        if not endpoint.active:
            raise DomainError(_("This endpoint is disabled: nothing can be delivered to it."), code="endpoint_disabled",
                              status=409)
        replay = WebhookDelivery.objects.create(tenant=tenant, endpoint=endpoint, event_id=delivery.event_id,
                                                event_type=delivery.event_type, payload=delivery.payload,
                                                replay_of=delivery)
        audit_record(action="webhook.replay", actor=actor, tenant=tenant, target_type="webhook_delivery",
                     target_id=replay.public_id, details={"event_id": delivery.event_id,
                                                          "replay_of": delivery.public_id})
        scope_on_commit(lambda: _deliveries_queue([replay.pk]))
    return replay

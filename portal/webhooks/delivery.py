"""Sending one delivery: signed, over HTTPS to the address checked just before, in order per
endpoint, retried with exponential backoff up to WEBHOOKS_MAX_ATTEMPTS.

Order: the attempt locks the endpoint's row, so one endpoint's deliveries are never sent side by
side, and sends a delivery only when no earlier delivery of that endpoint is pending. A delivery
that ends (delivered, or failed after its last attempt) queues the next pending one, so a later
event waits until the earlier one is delivered or has failed for good.

Signature: `Portal-Webhook-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" under the
endpoint's secret>`, with the timestamp (Unix seconds) in `Portal-Webhook-Timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal.webhooks.addresses import WebhookUrlInvalid, webhook_url_check
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.context import dangerously_unscoped, scope_atomic, scope_on_commit, tenant_scope
from tenants.models import Tenant

Status = WebhookDelivery.Status
EXCERPT = 200


def signature_of(*, secret: str, timestamp: int, body: bytes) -> str:
    return "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def payload_body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to `address` (already checked), with the URL's host name for SNI, the certificate and Host."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Outcome:
    ok: bool
    code: int | None = None
    excerpt: str = ""
    error: str = ""
    duration_ms: int = 0


def _send(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> Outcome:
    started = time.monotonic()
    try:
        target, address = webhook_url_check(endpoint.url)
    except WebhookUrlInvalid as refused:
        return Outcome(ok=False, error=refused.message[:300])
    body = payload_body(delivery.payload)
    timestamp = int(time.time())
    headers = {"Content-Type": "application/json", "User-Agent": "FaceSearchPortal-Webhooks/1",
               "Portal-Webhook-Id": str(delivery.event_id), "Portal-Webhook-Delivery": str(delivery.public_id),
               "Portal-Webhook-Event": delivery.event_type, "Portal-Webhook-Timestamp": str(timestamp),
               "Portal-Webhook-Signature": signature_of(secret=endpoint.secret, timestamp=timestamp, body=body)}
    context = ssl.create_default_context(cafile=settings.WEBHOOKS_CA_BUNDLE or None)
    connection = _PinnedHTTPSConnection(target.host, target.port, address=address,
                                        timeout=settings.WEBHOOKS_TIMEOUT_SECONDS, context=context)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT).decode("utf-8", errors="replace")
        code = response.status
    except (OSError, http.client.HTTPException) as failure:
        return Outcome(ok=False, error=f"{type(failure).__name__}: {failure}"[:300],
                       duration_ms=int((time.monotonic() - started) * 1000))
    finally:
        connection.close()
    return Outcome(ok=200 <= code < 300, code=code, excerpt=excerpt,
                   duration_ms=int((time.monotonic() - started) * 1000))


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt, after `attempts` failed ones: base, 2×base, 4×base… up to the cap."""
    return min(settings.WEBHOOKS_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOKS_RETRY_MAX_SECONDS)


def _queue(delivery_id: int, countdown: float | None = None) -> None:
    from portal.webhooks.tasks import webhook_delivery_attempt

    webhook_delivery_attempt.apply_async(args=[delivery_id], countdown=countdown)


def _next_pending_queue(*, endpoint_id: int) -> None:
    after = (WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING)
             .order_by("id").values_list("pk", flat=True).first())
    if after is not None:
        scope_on_commit(lambda: _queue(after))


def delivery_attempt(*, delivery_id: int) -> str:
    """One attempt at a delivery, when it is its endpoint's turn; returns what happened."""
    with dangerously_unscoped(reason="a webhook delivery task names only the delivery"):
        tenant_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("tenant_id", flat=True).first()
        tenant = Tenant.objects.filter(pk=tenant_id).first() if tenant_id else None
    if tenant is None:
        return "gone"
    with tenant_scope(tenant), scope_atomic():
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            return "gone"
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        delivery.refresh_from_db()
        if delivery.status != Status.PENDING:
            return delivery.status
        head = (WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).order_by("id")
                .values_list("pk", flat=True).first())
        if head != delivery.pk:
            return "waiting"  # the earlier delivery queues this one when it ends
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return "not yet"  # queued twice; the task counted down for the retry sends it
        outcome = _send(endpoint=endpoint, delivery=delivery)
        delivery.attempts += 1
        delivery.last_attempt_at = timezone.now()
        delivery.response_code, delivery.response_excerpt = outcome.code, outcome.excerpt[:EXCERPT]
        delivery.error, delivery.duration_ms = outcome.error, outcome.duration_ms
        if outcome.ok or delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
            delivery.status = Status.SUCCEEDED if outcome.ok else Status.FAILED
            delivery.completed_at, delivery.next_attempt_at = delivery.last_attempt_at, None
            delivery.save()
            _next_pending_queue(endpoint_id=endpoint.pk)
        else:
            delay = retry_delay(delivery.attempts)
            delivery.next_attempt_at = delivery.last_attempt_at + timedelta(seconds=delay)
            delivery.save()
            scope_on_commit(lambda: _queue(delivery.pk, countdown=delay))
        return delivery.status if delivery.status != Status.PENDING else "retrying"


def deliveries_due_queue() -> int:
    """Queues the first pending delivery of each endpoint whose attempt is due (a lost task, a
    restarted broker): the periodic safety net behind the tasks the deliveries queue themselves."""
    now = timezone.now()
    queued = 0
    with dangerously_unscoped(reason="webhook deliveries due, across tenants"):
        heads = (WebhookDelivery.objects.filter(status=Status.PENDING).order_by("endpoint_id", "id")
                 .distinct("endpoint_id").values_list("pk", "next_attempt_at", "created_at"))
        for pk, next_at, created_at in heads:
            if (next_at or created_at + timedelta(minutes=1)) <= now:
                _queue(pk)
                queued += 1
    return queued

"""Webhook deliveries end to end: a real Celery worker posts to a real HTTPS receiver (TLS with a
self-signed certificate the client trusts through WEBHOOKS_CA_BUNDLE). Signatures verify;
failures are retried with backoff, then marked failed; one endpoint's events arrive in order;
a replay sends the same event id again."""

import hashlib
import hmac
import json
import time

import pytest

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.webhooks.delivery import delivery_attempt
from portal.webhooks.events import request_forwarded_emit
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.services import webhook_delivery_replay, webhook_endpoint_create, webhook_event_emit
from tenants.context import tenant_scope

pytestmark = pytest.mark.django_db(transaction=True)
ALL = ["disclosure.recalled", "request.forwarded", "order.activated", "search.completed"]


def _deliveries(tenant) -> list[WebhookDelivery]:
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.filter(tenant=tenant).order_by("id"))


def _wait_until(condition, *, worker, timeout=60.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.process.poll() is None, worker.output()
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{worker.output()}")


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    """What docs/api.md tells receivers to do."""
    timestamp = headers["Portal-Webhook-Timestamp"]
    expected = "v1=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["Portal-Webhook-Signature"]) and abs(time.time() - int(timestamp)) < 300


def test_request_forwarded_is_signed_and_verifies(two_tenants, receiver, webhook_worker):
    tenant = two_tenants.a.tenant
    endpoint, secret = webhook_endpoint_create(tenant=tenant, url=receiver.url("/hook"), events=ALL,
                                               actor=Actor.system("test"))
    event_id = request_forwarded_emit(tenant=tenant, request_reference="DSR-2026-0042", kind="erasure",
                                      received_on="2026-11-20", due_on="2026-12-20", faces_concerned=3)
    (got,) = receiver.wait_for(1)
    assert _verify(secret, got.headers, got.body)
    assert not _verify("whsec_wrong", got.headers, got.body)
    tampered = got.body.replace(b"DSR-2026-0042", b"DSR-2026-0043")
    assert not _verify(secret, got.headers, tampered)
    payload = json.loads(got.body)
    assert payload["id"] == str(event_id) == got.headers["Portal-Webhook-Id"]
    assert payload["type"] == "request.forwarded" == got.headers["Portal-Webhook-Event"]
    assert payload["tenant"] == tenant.slug
    assert payload["data"] == {"request": {"reference": "DSR-2026-0042", "kind": "erasure", "received_on": "2026-11-20",
                                           "due_on": "2026-12-20", "faces_concerned": 3}}
    _wait_until(lambda: _deliveries(tenant)[0].status == "succeeded", worker=webhook_worker, what="the log")
    (logged,) = _deliveries(tenant)
    assert (logged.attempts, logged.response_code, logged.response_excerpt) == (1, 200, "ok")
    assert logged.duration_ms is not None and logged.completed_at is not None


def test_500_twice_then_200_is_retried_with_backoff_and_succeeds(two_tenants, receiver, webhook_worker):
    tenant = two_tenants.a.tenant
    receiver.script["/flaky"] = [500, 500]
    webhook_endpoint_create(tenant=tenant, url=receiver.url("/flaky"), events=ALL, actor=Actor.system("test"))
    event_id = webhook_event_emit(tenant=tenant, event_type="search.completed", data={"n": 1})
    got = receiver.wait_for(3)
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.headers["Portal-Webhook-Id"] for r in got} == {str(event_id)}
    # Backoff: 0.2 s, then 0.4 s (WEBHOOKS_RETRY_BASE_SECONDS=0.2 in the worker).
    assert got[1].at - got[0].at >= 0.18 and got[2].at - got[1].at >= 0.38
    _wait_until(lambda: _deliveries(tenant)[0].status == "succeeded", worker=webhook_worker, what="success")
    (logged,) = _deliveries(tenant)
    assert (logged.attempts, logged.response_code) == (3, 200)


def test_one_endpoint_gets_its_events_in_order_and_a_failed_one_does_not_block_for_ever(two_tenants, receiver,
                                                                                          webhook_worker):
    tenant = two_tenants.a.tenant
    # The first event fails three times (WEBHOOKS_MAX_ATTEMPTS=3) and is marked failed; the second
    # meets two 500s and then succeeds; the later ones wait for each, and arrive in order.
    receiver.script["/ordered"] = [500, 500, 500, 500, 500]
    webhook_endpoint_create(tenant=tenant, url=receiver.url("/ordered"), events=ALL, actor=Actor.system("test"))
    ids = [str(webhook_event_emit(tenant=tenant, event_type="search.completed", data={"n": n})) for n in range(5)]
    got = receiver.wait_for(9, timeout=90)
    assert [(ids.index(r.headers["Portal-Webhook-Id"]), r.status) for r in got] == [
        (0, 500), (0, 500), (0, 500), (1, 500), (1, 500), (1, 200), (2, 200), (3, 200), (4, 200)]
    _wait_until(lambda: all(d.status != "pending" for d in _deliveries(tenant)), worker=webhook_worker, what="the end")
    assert [(d.status, d.attempts) for d in _deliveries(tenant)] == [
        ("failed", 3), ("succeeded", 3), ("succeeded", 1), ("succeeded", 1), ("succeeded", 1)]
    failed = _deliveries(tenant)[0]
    assert failed.response_code == 500 and len(failed.response_excerpt) == 200  # an excerpt, not the whole answer


def test_replay_is_a_new_delivery_of_the_same_event_and_is_audited(two_tenants, receiver, webhook_worker):
    tenant = two_tenants.a.tenant
    webhook_endpoint_create(tenant=tenant, url=receiver.url("/replay"), events=ALL, actor=Actor.system("test"))
    event_id = webhook_event_emit(tenant=tenant, event_type="order.activated", data={"order": {"reference": "R-1"}})
    receiver.wait_for(1)
    _wait_until(lambda: _deliveries(tenant)[0].status == "succeeded", worker=webhook_worker, what="first delivery")
    first = _deliveries(tenant)[0]
    replay = webhook_delivery_replay(tenant=tenant, delivery=first, actor=Actor.of_user(two_tenants.a.owner))
    got = receiver.wait_for(2)
    assert [r.headers["Portal-Webhook-Id"] for r in got] == [str(event_id)] * 2
    assert got[0].headers["Portal-Webhook-Delivery"] != got[1].headers["Portal-Webhook-Delivery"]
    assert json.loads(got[0].body) == json.loads(got[1].body)
    _wait_until(lambda: _deliveries(tenant)[1].status == "succeeded", worker=webhook_worker, what="the replay")
    assert _deliveries(tenant)[1].replay_of_id == first.pk
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(tenant=tenant, action="webhook.replay", target_id=str(replay.public_id)).exists()


def test_an_address_that_turned_internal_is_refused_at_delivery(two_tenants, receiver, settings):
    """Registered while allowed; by the delivery the setting (as in production) refuses 127.0.0.1:
    the check runs again on the address resolved at delivery, and nothing is sent."""
    tenant = two_tenants.a.tenant
    webhook_endpoint_create(tenant=tenant, url=receiver.url("/rebound"), events=ALL, actor=Actor.system("test"))
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with tenant_scope(tenant):
        (delivery,) = WebhookDelivery.objects.bulk_create([WebhookDelivery(
            tenant=tenant, endpoint=tenant.webhook_endpoints.get(), event_id="7d1c7c5e-8b0a-4f43-9d38-0c2d4b2f5a11",
            event_type="search.completed", payload={"x": 1})])
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    assert delivery_attempt(delivery_id=delivery.pk) == "failed"
    (logged,) = _deliveries(tenant)
    assert "internal address" in logged.error and logged.response_code is None
    assert receiver.received == []

"""Registering endpoints: bad addresses are refused with a clear error and nothing is stored;
the page is the owners'; another tenant's endpoint or delivery is a 404 like an absent one."""

import re
import uuid

import pytest

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.errors import DomainError
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from portal.webhooks.services import webhook_endpoint_create
from tenants.context import dangerously_unscoped, scope_connection, tenant_scope

pytestmark = pytest.mark.django_db
EVENTS = ["disclosure.recalled"]


def _without_tokens(page: bytes) -> bytes:
    """A page without its per-response tokens (CSRF, CSP nonce)."""
    return re.sub(rb"[A-Za-z0-9+/=_-]{22,}", b"TOKEN", page)


def _stored() -> tuple[int, int]:
    with dangerously_unscoped(reason="test: what exists"):
        return (WebhookEndpoint.objects.count(),
                AuditEvent.objects.filter(action__startswith="webhook.").count())


@pytest.mark.parametrize("url, says", [
    ("http://hooks.example.com/in", "must start with https://"),
    ("ftp://hooks.example.com/in", "must start with https://"),
    ("https://127.0.0.1/in", "internal address (127.0.0.1)"),
    ("https://localhost:8443/in", "internal address"),
    ("https://10.20.30.40/in", "internal address (10.20.30.40)"),
    ("https://192.168.1.1/in", "internal address"),
    ("https://169.254.169.254/latest/meta-data", "internal address (169.254.169.254)"),
    ("https://100.64.0.1/in", "internal address"),
    ("https://[::1]/in", "internal address (::1)"),
    ("https://[::ffff:10.0.0.1]/in", "internal address"),
    ("https://0.0.0.0/in", "internal address"),
    ("https://240.0.0.1/in", "internal address"),
    ("https://user:pw@hooks.example.com/in", "no user name or password"),
    ("https://", "names no host"),
    ("https://host.invalid/in", "could not be found"),
])
def test_bad_addresses_are_refused_in_production_settings_and_nothing_is_stored(two_tenants, settings, url, says):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    before = _stored()
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(tenant=two_tenants.a.tenant, url=url, events=EVENTS, actor=Actor.system("test"))
    assert says in refused.value.message and refused.value.field == "url"
    assert _stored() == before


def test_no_event_is_refused(two_tenants):
    with pytest.raises(DomainError) as refused:
        webhook_endpoint_create(tenant=two_tenants.a.tenant, url="https://127.0.0.1:9/x", events=["nope"],
                                actor=Actor.system("test"))
    assert refused.value.field == "events" and _stored() == (0, 0)


def test_the_page_refuses_a_private_address_in_production_settings(client, two_tenants, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    client.force_login(two_tenants.a.owner)
    response = client.post("/t/agency-a/admin/webhooks/", {"url": "https://10.0.0.7/hook", "events": EVENTS})
    assert response.status_code == 400
    assert "points at an internal address (10.0.0.7)" in response.content.decode()
    assert _stored() == (0, 0)


def test_owner_adds_an_endpoint_and_sees_its_secret_once(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    response = client.post("/t/agency-a/admin/webhooks/", {"url": "https://127.0.0.1:9/hook", "events": EVENTS})
    page = response.content.decode()
    assert response.status_code == 200 and "whsec_" in page and response["Cache-Control"].startswith("max-age=0")
    with tenant_scope(two_tenants.a.tenant):
        endpoint = WebhookEndpoint.objects.get()
        assert endpoint.secret in page and endpoint.events == EVENTS
        assert AuditEvent.objects.filter(action="webhook.endpoint_create", target_id=str(endpoint.public_id)).exists()
    with dangerously_unscoped(reason="test: the secret is sealed at rest"), scope_connection().cursor() as c:
        c.execute("SELECT secret FROM webhooks_webhookendpoint")
        assert c.fetchone()[0].startswith("sealed1:")
    again = client.get("/t/agency-a/admin/webhooks/").content.decode()
    assert endpoint.secret not in again and "https://127.0.0.1:9/hook" in again


def test_only_owners_reach_the_page(client, two_tenants):
    for user in (two_tenants.a.admin, two_tenants.a.investigator, two_tenants.a.auditor):
        client.force_login(user)
        assert client.get("/t/agency-a/admin/webhooks/").status_code == 403
        assert client.post("/t/agency-a/admin/webhooks/", {"url": "https://127.0.0.1:9/", "events": EVENTS}).status_code == 403
    assert _stored() == (0, 0)


def test_another_tenant_cannot_see_disable_or_replay_and_gets_the_same_404(client, two_tenants):
    a = two_tenants.a.tenant
    endpoint, _ = webhook_endpoint_create(tenant=a, url="https://127.0.0.1:9/a-only", events=EVENTS,
                                          actor=Actor.system("test"))
    with tenant_scope(a):
        delivery = WebhookDelivery.objects.create(tenant=a, endpoint=endpoint, event_id=uuid.uuid4(),
                                                  event_type="disclosure.recalled", payload={"secret": "of A"},
                                                  status="failed")
    client.force_login(two_tenants.b.owner)
    assert "a-only" not in client.get("/t/retailer-b/admin/webhooks/").content.decode()
    for path in (f"/t/retailer-b/admin/webhooks/{endpoint.public_id}/disable/",
                 f"/t/retailer-b/admin/webhooks/deliveries/{delivery.public_id}/replay/"):
        foreign = client.post(path)
        absent = client.post(path.replace(str(endpoint.public_id), str(uuid.uuid4()))
                             .replace(str(delivery.public_id), str(uuid.uuid4())))
        assert foreign.status_code == absent.status_code == 404
        assert _without_tokens(foreign.content) == _without_tokens(absent.content)
    with tenant_scope(a):
        assert WebhookEndpoint.objects.get().active and WebhookDelivery.objects.count() == 1


def test_owner_disables_an_endpoint_and_its_pending_deliveries_end(client, two_tenants):
    a = two_tenants.a.tenant
    endpoint, _ = webhook_endpoint_create(tenant=a, url="https://127.0.0.1:9/x", events=EVENTS,
                                          actor=Actor.system("test"))
    with tenant_scope(a):
        WebhookDelivery.objects.create(tenant=a, endpoint=endpoint, event_id=uuid.uuid4(),
                                       event_type="disclosure.recalled", payload={})
    client.force_login(two_tenants.a.owner)
    response = client.post(f"/t/agency-a/admin/webhooks/{endpoint.public_id}/disable/", follow=True)
    assert "have stopped for good" in response.content.decode()
    with tenant_scope(a):
        assert not WebhookEndpoint.objects.get().active
        assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["failed"]
        assert AuditEvent.objects.filter(action="webhook.endpoint_disable").count() == 1

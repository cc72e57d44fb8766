"""The signed files as people get them: an order's signed certificate from the platform page and
the platform API, a tenant's signed chain head from its audit page and the API (its own only)."""

import json

import pytest
from django.core.management import call_command

from portal.audit.heads import audit_heads_check
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.audit.signing import signing_keys_published
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.platform.models import SealedTOTPDevice
from portal.signatures import document_verify, keys_parse
from tenants.context import dangerously_unscoped
from tests.builders import order_fields
from tests.factories import totp_token

pytestmark = pytest.mark.django_db


def _verified_order() -> RegulatoryOrder:
    order = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["DE"],
                                                             reference="SAN-2026-042")),
                           actor=Actor.system("test"))
    order = order_enforce(order=order)
    assert order.status == RegulatoryOrder.Status.VERIFIED
    return order


@pytest.fixture
def staff_client(client, user_factory):
    operator = user_factory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    return client


def test_the_certificate_is_signed_when_issued_and_downloads_unchanged(staff_client, tmp_path):
    order = _verified_order()
    assert order.certificate_signed
    page = staff_client.get(f"/platform/orders/{order.pk}/certificate/").content.decode()
    assert f"/platform/orders/{order.pk}/certificate.signed.json" in page and "/.well-known/portal-signing-keys.json" in page
    response = staff_client.get(f"/platform/orders/{order.pk}/certificate.signed.json")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert response.content == order.certificate_signed.encode()
    verified = document_verify(data=response.content, keys=keys_parse(signing_keys_published()))
    assert verified.type == "regulatory-order-enforcement/1"
    assert verified.document["order"]["reference"] == "SAN-2026-042"
    assert verified.document["totals"] == json.loads(json.dumps(order.certificate["totals"]))
    api = staff_client.get(f"/api/v1/platform/orders/{order.pk}/certificate/signed/")
    assert api.status_code == 200 and api.content == response.content
    certificate = tmp_path / "certificate.json"
    certificate.write_bytes(api.content)
    call_command("certificate_verify", str(certificate))


def test_a_certificate_issued_before_signing_is_signed_once_at_its_first_download(staff_client):
    order = _verified_order()
    with dangerously_unscoped(reason="test: a certificate from before signed certificates"):
        RegulatoryOrder.objects.filter(pk=order.pk).update(certificate_signed="")
    first = staff_client.get(f"/platform/orders/{order.pk}/certificate.signed.json").content
    second = staff_client.get(f"/api/v1/platform/orders/{order.pk}/certificate/signed/").content
    assert first == second
    document_verify(data=first, keys=keys_parse(signing_keys_published()))
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="order.certificate_sign", target_id=str(order.pk)).count() == 1


def test_no_certificate_yet_and_foreign_ids_answer_without_signing(staff_client):
    draft = order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["DE"]))
    assert staff_client.get(f"/platform/orders/{draft.pk}/certificate.signed.json").status_code == 404
    assert staff_client.get(f"/platform/orders/{draft.pk + 999}/certificate.signed.json").status_code == 404
    assert staff_client.get(f"/api/v1/platform/orders/{draft.pk}/certificate/signed/").status_code == 409
    assert staff_client.get(f"/api/v1/platform/orders/{draft.pk + 999}/certificate/signed/").status_code == 404


def test_the_signed_certificate_is_only_for_operators(client, two_tenants):
    order = _verified_order()
    # Without a session: the log-in page, as for every platform page; the file is not served.
    anonymous = client.get(f"/platform/orders/{order.pk}/certificate.signed.json")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    client.force_login(two_tenants.a.owner)
    assert client.get(f"/platform/orders/{order.pk}/certificate.signed.json").status_code == 404
    assert client.get(f"/api/v1/platform/orders/{order.pk}/certificate/signed/").status_code == 404


def test_a_tenant_downloads_a_signed_head_of_its_own_chain(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    client.force_login(a.owner)
    page = client.get(f"/t/{a.tenant.slug}/audit/").content.decode()
    assert f"/t/{a.tenant.slug}/audit/signed-head.json" in page
    response = client.get(f"/t/{a.tenant.slug}/audit/signed-head.json")
    assert response.status_code == 200
    document = document_verify(data=response.content, keys=keys_parse(signing_keys_published())).document
    assert document["type"] == "audit-chain-head/1" and document["tenant_id"] == a.tenant.pk
    assert audit_heads_check(data=response.content).ok
    assert client.get(f"/t/{b.tenant.slug}/audit/signed-head.json").status_code == 404


def test_the_api_gives_each_tenant_a_signed_head_of_its_own_chain_only(two_tenants):
    from tests.api.conftest import keyed_client

    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    response = keyed_client(tenant=a, scopes=["audit:read"]).get("/api/v1/audit/signed-head")
    assert response.status_code == 200
    document = document_verify(data=response.content, keys=keys_parse(signing_keys_published())).document
    assert document["tenant_id"] == a.pk and document["tenant"] == a.slug
    b_document = document_verify(data=keyed_client(tenant=b, scopes=["audit:read"]).get(
        "/api/v1/audit/signed-head").content, keys=keys_parse(signing_keys_published())).document
    assert b_document["tenant_id"] == b.pk
    assert keyed_client(tenant=a, scopes=["search"]).get("/api/v1/audit/signed-head").status_code == 403

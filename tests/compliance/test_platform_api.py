"""The platform orders API: staff tokens or two-factor staff sessions only."""

import base64

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.compliance import tasks
from portal.compliance.audit import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance.services import order_enforce, staff_token_create, staff_token_revoke
from tests.factories import totp_token

pytestmark = pytest.mark.django_db

NEW_ORDER = {"kind": "regional", "authority": "CNIL", "reference": "API-1", "received_on": "2026-11-01",
             "effective_at": "2026-11-02T00:00:00Z", "deadline": "2027-01-01", "regions": ["FR"]}


@pytest.fixture
def operator(user_factory):
    return user_factory(is_staff=True)


@pytest.fixture
def token(operator):
    return staff_token_create(user=operator, name="tooling", actor=Actor.system("test"))


@pytest.fixture
def api(client, token):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token[1]}"
    return client


def test_file_preview_activate_follow_and_certificate(api, world_gallery, monkeypatch):
    monkeypatch.setattr(tasks.order_enforce, "delay", lambda order_id: None)
    created = api.post("/api/v1/platform/orders/", NEW_ORDER, content_type="application/json")
    assert created.status_code == 201, created.content
    order_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    preview = api.get(f"/api/v1/platform/orders/{order_id}/preview/").json()
    assert preview["totals"]["images"] == 12 and len(preview["rows"]) == 4
    assert api.get(f"/api/v1/platform/orders/{order_id}/certificate/").status_code == 409
    activated = api.post(f"/api/v1/platform/orders/{order_id}/activate/")
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    assert api.post(f"/api/v1/platform/orders/{order_id}/activate/").status_code == 409
    order_enforce(order=RegulatoryOrder.objects.get(pk=order_id))
    detail = api.get(f"/api/v1/platform/orders/{order_id}/").json()
    assert detail["status"] == "verified" and detail["progress"]["percent"] == 100 and len(detail["galleries"]) == 4
    certificate = api.get(f"/api/v1/platform/orders/{order_id}/certificate/").json()
    assert certificate["totals"]["deleted"]["faces"] == 12
    assert [o["id"] for o in api.get("/api/v1/platform/orders/?status=verified").json()["results"]] == [order_id]


def test_invalid_orders_answer_400_with_the_field(api):
    response = api.post("/api/v1/platform/orders/", {**NEW_ORDER, "regions": ["UK"]}, content_type="application/json")
    assert response.status_code == 400 and "regions" in response.json()["error"]["fields"]
    response = api.post("/api/v1/platform/orders/", {**NEW_ORDER, "kind": "subject",
                                                     "reference_pictures": ["not base64!"]},
                        content_type="application/json")
    assert response.status_code == 400


def test_subject_order_with_a_picture(api, faces_dir):
    picture = base64.b64encode((faces_dir / "obama_1.jpg").read_bytes()).decode()
    response = api.post("/api/v1/platform/orders/", {**NEW_ORDER, "kind": "subject", "regions": [],
                                                     "reference_pictures": [picture]}, content_type="application/json")
    assert response.status_code == 201 and response.json()["match_threshold"] == 0.9


def test_who_may_call(client, two_tenants, operator, token):
    assert client.get("/api/v1/platform/orders/").status_code in (401, 403)
    assert client.get("/api/v1/platform/orders/", HTTP_AUTHORIZATION="Bearer pst_nope_nope").status_code == 401
    client.force_login(two_tenants.a.owner)
    assert client.get("/api/v1/platform/orders/").status_code == 404  # tenant users do not learn it exists
    client.logout()
    client.force_login(operator)
    assert client.get("/api/v1/platform/orders/").status_code == 403  # staff session without two-factor
    device = TOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.post("/platform/2fa/verify/", {"token": totp_token(device)})
    assert client.get("/api/v1/platform/orders/").status_code == 200
    client.logout()
    staff_token_revoke(token=token[0], actor=Actor.system("test"))
    assert client.get("/api/v1/platform/orders/", HTTP_AUTHORIZATION=f"Bearer {token[1]}").status_code == 401


def test_a_tenant_api_key_is_not_a_platform_token(client, two_tenants):
    response = client.get("/api/v1/platform/orders/", HTTP_AUTHORIZATION="Api-Key abc.def")
    assert response.status_code in (401, 403)

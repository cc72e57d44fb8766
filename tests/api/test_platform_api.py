"""The platform orders API: staff tokens or two-factor staff sessions only."""

import base64

import pytest
from portal.platform.models import SealedTOTPDevice

from portal.compliance import tasks
from portal.audit.services import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance.enforcement import order_enforce
from portal.platform.services import staff_token_create, staff_token_revoke
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
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.post("/platform/2fa/verify/", {"token": totp_token(device)})
    assert client.get("/api/v1/platform/orders/").status_code == 200
    client.logout()
    staff_token_revoke(token=token[0], actor=Actor.system("test"))
    assert client.get("/api/v1/platform/orders/", HTTP_AUTHORIZATION=f"Bearer {token[1]}").status_code == 401


def test_a_tenant_api_key_is_not_a_platform_token(client, two_tenants):
    response = client.get("/api/v1/platform/orders/", HTTP_AUTHORIZATION="Api-Key abc.def")
    assert response.status_code in (401, 403)


# --- the same base as the tenant API: error shape, scopes, limits, idempotency, schema ----------

def test_errors_come_in_the_one_shape(api, two_tenants):
    from django.test import Client

    client = Client()  # no token (the api fixture's client sends one)
    missing = api.get("/api/v1/platform/orders/999999/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    invalid = api.post("/api/v1/platform/orders/", {"kind": "regional"}, content_type="application/json")
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "invalid"
    assert {"authority", "reference"} <= set(invalid.json()["error"]["fields"])
    anonymous = client.get("/api/v1/platform/orders/")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    assert anonymous["WWW-Authenticate"] == "Bearer"
    client.force_login(two_tenants.a.owner)
    for method in ("get", "post", "delete"):  # the same 404 for every method, CSRF or not
        response = getattr(client, method)("/api/v1/platform/orders/")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_read_only_token_cannot_file_or_activate(client, operator):
    token, secret = staff_token_create(user=operator, name="dashboards", actor=Actor.system("test"),
                                       scopes=["orders:read"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert client.get("/api/v1/platform/orders/").status_code == 200
    refused = client.post("/api/v1/platform/orders/", NEW_ORDER, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"
    assert not RegulatoryOrder.objects.exists()


def test_idempotency_key_replays_the_first_filing(api):
    first = api.post("/api/v1/platform/orders/", NEW_ORDER, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="file-API-1")
    again = api.post("/api/v1/platform/orders/", NEW_ORDER, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="file-API-1")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and RegulatoryOrder.objects.count() == 1
    other = api.post("/api/v1/platform/orders/", {**NEW_ORDER, "reference": "API-2"},
                     content_type="application/json", HTTP_IDEMPOTENCY_KEY="file-API-1")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_rate_limit_and_request_size(api, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "platform-rate-test"}}
    settings.API_RATE_LIMIT_PLATFORM = "3/hour"  # a fixed window: an hour's end falls between requests far less often
    assert [api.get("/api/v1/platform/orders/").status_code for _ in range(4)] == [200, 200, 200, 429]
    settings.API_RATE_LIMIT_PLATFORM = "100/minute"
    settings.API_MAX_REQUEST_BYTES = 100
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "platform-size-test"}}
    too_large = api.post("/api/v1/platform/orders/", {**NEW_ORDER, "description": "x" * 200},
                         content_type="application/json")
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "request_too_large"


def test_the_operator_has_a_schema_of_its_own_and_tenants_do_not_see_it(api, two_tenants):
    from django.test import Client

    client = Client()
    schema = api.get("/api/v1/platform/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/platform/orders/" in paths and not any(p.startswith("/api/v1/searches") for p in paths)
    assert "PlatformToken" in schema.json()["components"]["securitySchemes"]
    tenant_schema = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert not any("platform" in path for path in tenant_schema)
    client.force_login(two_tenants.a.owner)
    assert client.get("/api/v1/platform/schema/").status_code == 404


def test_deeply_nested_json_is_a_clear_400_on_the_platform_api_too(api):
    body = '{"kind": "regional", "regions": ' + "[" * 5_000 + "]" * 5_000 + "}"
    response = api.post("/api/v1/platform/orders/", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"
    assert not RegulatoryOrder.objects.exists()


def test_platform_token_create_prints_a_token_the_api_accepts_and_refuses_a_non_operator(client, operator,
                                                                                          user_factory):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("platform_token_create", operator.email.upper(), "compliance tooling", "--scopes", "orders:read",
                 stdout=out)
    secret = out.getvalue().strip().splitlines()[-1]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    assert client.get("/api/v1/platform/orders/").status_code == 200
    # Its one scope: reading, not filing.
    assert client.post("/api/v1/platform/orders/", NEW_ORDER, content_type="application/json").status_code == 403
    with pytest.raises(CommandError, match="No user"):
        call_command("platform_token_create", "nobody@example.org", "x", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("platform_token_create", user_factory(is_staff=False).email, "x", stdout=StringIO())

"""The platform area: staff only (others 404), TOTP two-factor, and its pages end to end."""

import json
import re
from urllib.parse import quote

import pytest
from portal.platform.models import SealedTOTPDevice

from portal.compliance import tasks
from portal.audit.models import AuditEvent
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance.enforcement import order_enforce
from tenants.context import dangerously_unscoped
from tenants.models import Tenant
from tests.factories import enrolment_code_for, totp_token

pytestmark = pytest.mark.django_db

PAGES = ["/platform/", "/platform/orders/", "/platform/orders/new/", "/platform/opt-outs/", "/platform/requests/",
         "/platform/tenants/",
         "/platform/audit/", "/platform/signatures/", "/platform/2fa/enrol/", "/platform/2fa/verify/"]



@pytest.fixture
def operator(user_factory):
    return user_factory(is_staff=True, email="operator@portal.test")


@pytest.fixture
def staff_client(client, operator):
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    response = client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    assert response.status_code == 302 and response["Location"] == "/platform/"
    return client


@pytest.fixture
def enforce_now(monkeypatch):
    """Enforcement runs in the request's stead (no broker in tests)."""
    monkeypatch.setattr(tasks.order_enforce, "delay", lambda order_id: None)


@pytest.mark.parametrize("path", PAGES + ["/platform/orders/1/", "/platform/tenants/1/"])
def test_platform_pages_send_anonymous_visitors_to_log_in_and_are_404_for_tenant_users(client, two_tenants,
                                                                                     settings, path):
    settings.DEBUG = True  # as under `make run`: still the portal's 404, never the debug page of URL patterns
    response = client.get(path)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={quote(path)}"
    assert client.post(path).status_code == 404  # other methods without a session: nothing to log in to
    client.force_login(two_tenants.a.owner)  # a tenant's owner is not a platform operator
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        assert "urlpatterns" not in response.content.decode() and "Not found" in response.content.decode()


def test_an_operator_who_logs_in_lands_on_the_platform_area(client, operator):
    from tests.factories import TEST_PASSWORD
    response = client.post("/accounts/login/", {"username": operator.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"] == "/platform/"
    # From a platform link the log-in returns to it.
    client.logout()
    response = client.post("/accounts/login/?next=/platform/orders/",
                           {"username": operator.email, "password": TEST_PASSWORD, "next": "/platform/orders/"})
    assert response["Location"] == "/platform/orders/"


def test_staff_without_a_device_must_enrol_then_verify_each_session(client, operator, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp makes a second try within a second wait otherwise
    client.force_login(operator)
    response = client.get("/platform/orders/")
    assert response.status_code == 302 and response["Location"] == "/platform/2fa/enrol/"
    # The password alone shows no QR code: an enrolment code from another operator comes first.
    assert "otpauth://" not in client.get("/platform/2fa/enrol/").content.decode()
    client.post("/platform/2fa/enrol/", {"enrolment_code": enrolment_code_for(operator)})
    page = client.get("/platform/2fa/enrol/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "otpauth://totp/" in body and "<svg" in body
    device = SealedTOTPDevice.objects.get(user=operator, confirmed=False)
    assert client.post("/platform/2fa/enrol/", {"token": "000000" if totp_token(device) != "000000" else "111111"}
                       ).status_code == 200
    response = client.post("/platform/2fa/enrol/", {"token": totp_token(device)})
    # Enrolment ends on the backup codes, shown once (tests/platform/test_backup_codes.py).
    assert response.status_code == 200 and "Backup codes" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/platform/orders/").status_code == 200

    # A new session must verify again before any platform page.
    client.logout()
    client.force_login(operator)
    response = client.get("/platform/audit/?action=auth")
    assert response.status_code == 302 and response["Location"].startswith("/platform/2fa/verify/")
    assert client.post("/platform/2fa/verify/", {"token": "12345x"}).status_code == 200
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="auth.2fa_failed").exists()


def test_verify_never_redirects_off_site(client, operator):
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    response = client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "https://evil.example/"})
    assert response["Location"] == "/platform/"


def test_dashboard_and_lists_render(staff_client, world_gallery):
    for path in PAGES[:-2]:
        response = staff_client.get(path)
        assert response.status_code == 200, path
    dashboard = staff_client.get("/platform/").content.decode()
    assert "Searchable faces by region" in dashboard and "<svg" in dashboard and ">FR</text>" in dashboard


def test_order_lifecycle_through_the_pages(staff_client, world_gallery, enforce_now):
    response = staff_client.post("/platform/orders/new/", {
        "kind": "regional", "authority": "CNIL", "reference": "SAN-2026-001", "received_on": "2026-11-01",
        "effective_at": "2026-11-02T00:00", "deadline": "2027-01-01", "regions": "FR", "scope_all": "on",
        "scope_platform_index": "on", "match_threshold": "0.9"})
    assert response.status_code == 302, response.content.decode()[:2000]
    order = RegulatoryOrder.objects.get(reference="SAN-2026-001")
    detail = staff_client.get(f"/platform/orders/{order.pk}/").content.decode()
    assert "Preview" in detail and "Platform index" in detail and "Agency A" in detail

    # Irreversible: without the reference typed, or with another, nothing happens (#14, item 3).
    for typed in ({}, {"confirm_reference": "SAN-2026-002"}):
        refused = staff_client.post(f"/platform/orders/{order.pk}/activate/", typed, follow=True)
        assert "Not activated: type the order" in refused.content.decode()
        order.refresh_from_db()
        assert order.status == RegulatoryOrder.Status.DRAFT
    assert "type the order's reference" in detail and 'name="confirm_reference"' in detail
    activated = staff_client.post(f"/platform/orders/{order.pk}/activate/",
                                  {"confirm_reference": " SAN-2026-001 "}, follow=True).content.decode()
    order.refresh_from_db()
    assert order.status == RegulatoryOrder.Status.ACTIVE
    assert "deletion is queued" in activated and "Deletion runs in the background" in activated
    progress = staff_client.get(f"/platform/orders/{order.pk}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in progress

    order_enforce(order=order)
    # Once verified, the order's page says so, and nothing there says deletion "has started" (#14, item 4).
    for path in (f"/platform/orders/{order.pk}/progress/", f"/platform/orders/{order.pk}/"):
        progress = staff_client.get(path).content.decode()
        assert "hx-trigger" not in progress and "Certificate" in progress
        assert "Deleted and verified" in progress and "started" not in progress.replace("Deletion started", "")
    certificate = staff_client.get(f"/platform/orders/{order.pk}/certificate/").content.decode()
    assert "SAN-2026-001" in certificate and "Verification" in certificate
    data = json.loads(staff_client.get(f"/platform/orders/{order.pk}/certificate.json").content)
    assert data["totals"]["deleted"]["images"] == 12 and data["verification"]["passed"]


def test_order_form_renders_each_field_once(staff_client, two_tenants):
    """A browser posts every input; a field rendered twice would post an empty second value."""
    from collections import Counter

    from portal.platform.forms import OrderForm

    page = staff_client.get("/platform/orders/new/").content.decode()
    names = Counter(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', page))
    for field in OrderForm.base_fields:
        inputs = names[field]
        # Multiple-choice checkboxes render one input per tenant, all with the field's name.
        assert inputs >= 1, field
        if field not in {"offboard_tenants", "scope_tenants"}:
            assert inputs == 1, f"{field} is rendered {inputs} times"


def test_order_form_errors_are_shown(staff_client):
    response = staff_client.post("/platform/orders/new/", {
        "kind": "regional", "authority": "CNIL", "reference": "X-1", "received_on": "2026-11-01",
        "effective_at": "2026-11-02T00:00", "deadline": "2027-01-01", "regions": "UK", "scope_all": "on"})
    assert response.status_code == 200 and "did you mean" in response.content.decode()


def test_tenants_create_suspend_and_entitlements(staff_client):
    response = staff_client.post("/platform/tenants/", {"slug": "city-police", "name": "City Police",
                                                         "kind": "law_enforcement", "home_country": "DE",
                                                         "probe_retention_days": 14})
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="city-police")
    staff_client.post(f"/platform/tenants/{tenant.pk}/", {"action": "suspend"})
    staff_client.post(f"/platform/tenants/{tenant.pk}/", {"may_search_platform_index": "on",
                                                          "probe_retention_days": 7})
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED and tenant.may_search_platform_index
    assert tenant.probe_retention_days == 7 and not tenant.case_reference_required
    with dangerously_unscoped(reason="test"):
        actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert {"tenant.create", "tenant.suspend", "tenant.entitlements"} <= actions


def test_audit_explorer_filters_across_tenants(staff_client, two_tenants):
    from portal.audit.services import Actor, audit_record

    audit_record(action="search.run", actor=Actor.system("x"), tenant=two_tenants.a.tenant)
    audit_record(action="image.delete", actor=Actor.system("x"), tenant=two_tenants.b.tenant)
    page = staff_client.get("/platform/audit/").content.decode()
    assert "search.run" in page and "image.delete" in page
    page = staff_client.get(f"/platform/audit/?tenant={two_tenants.b.tenant.pk}").content.decode()
    assert "image.delete" in page and "search.run" not in page


def test_public_request_form_needs_no_account_and_says_what_is_missing(client, faces_dir, smtp_server,
                                                                      django_capture_on_commit_callbacks):
    from portal.rights.models import DataSubjectRequest

    assert client.get("/opt-out/").status_code == 200
    fields = {"kind": "erasure", "email": "me@example.test", "region": "FR"}
    response = client.post("/opt-out/", {**fields, "picture": (faces_dir / "obama_1.jpg").open("rb"),
                                         "document": (faces_dir / "obama_4.jpg").open("rb")})
    assert response.status_code == 200 and "consent" in response.content.decode().lower()
    assert not OptOut.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes after the commit
        response = client.post("/opt-out/", {**fields, "consent": "on", "document": (faces_dir / "obama_4.jpg").open("rb"),
                                             "picture": (faces_dir / "obama_1.jpg").open("rb")})
    assert response.status_code == 200 and "request is received" in response.content.decode()
    opt_out = OptOut.objects.get()
    assert opt_out.channel == OptOut.Channel.PUBLIC_FORM and opt_out.embeddings.count() == 1
    request = DataSubjectRequest.objects.get()
    status_link = re.search(r'href="(/opt-out/status/[^"]+/)"', response.content.decode()).group(1)
    assert str(request.public_id) not in status_link
    assert request.reference in client.get(status_link).content.decode()
    assert smtp_server.wait_for(1)[0].envelope_to == ["me@example.test"]


@pytest.mark.parametrize("picture, message", [("blank", "No face was found"),
                                              ("group_kit_rose.jpg", "2 faces were found")])
def test_public_request_without_exactly_one_face_says_so_and_stores_nothing(client, faces_dir, tmp_path, picture,
                                                                            message):
    from PIL import Image

    from portal.rights.models import DataSubjectRequest

    path = faces_dir / picture
    if picture == "blank":
        path = tmp_path / "blank.png"
        Image.new("RGB", (200, 200), "white").save(path)
    response = client.post("/opt-out/", {"kind": "opt_out", "email": "me@example.test", "consent": "on",
                                         "picture": path.open("rb"), "document": (faces_dir / "obama_4.jpg").open("rb")})
    assert response.status_code == 200 and message in response.content.decode()
    assert not OptOut.objects.exists() and not DataSubjectRequest.objects.exists()


@pytest.mark.parametrize("path", ["/opt-out/status/{forged}/", "/opt-out/confirm/{forged}/"])
def test_a_forged_link_is_a_404(client, path):
    assert client.get(path.format(forged="Zm9yZ2VkLXRva2VuLXRoYXQtbmFtZXMtbm90aGluZw")).status_code == 404


def test_operator_opt_out_then_confirmed_public_one(staff_client, faces_dir, enforce_now):
    picture = (faces_dir / "biden_1.jpg").open("rb")
    response = staff_client.post("/platform/opt-outs/", {"contact": "joe@example.test", "region": "US",
                                                         "pictures": [picture], "consent": "on"})
    assert response.status_code == 302
    opt_out = OptOut.objects.get()
    assert opt_out.status == OptOut.Status.ENFORCING and opt_out.order.status == RegulatoryOrder.Status.ACTIVE
    assert staff_client.get(f"/platform/opt-outs/{opt_out.pk}/").status_code == 200


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/platform/", "/platform/orders/new/", "/platform/orders/1/activate/",
                                  "/platform/2fa/enrol/", "/platform/no-such-page/"])
def test_non_operators_get_the_same_404_for_every_method_even_without_a_csrf_token(two_tenants, method, path):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # as a browser: no token sent
    anonymous = getattr(client, method)(path).status_code
    # Only a page's GET without a session is sent to log in (tested above).
    assert anonymous == (302 if method == "get" and path != "/platform/no-such-page/" else 404)
    client.force_login(two_tenants.a.owner)
    assert getattr(client, method)(path).status_code == 404


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_tenant_session_gets_404_from_the_platform_api_for_every_method(two_tenants, method):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(two_tenants.a.owner)
    response = getattr(client, method)("/api/v1/platform/orders/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_an_operator_without_a_csrf_token_is_still_refused_by_the_csrf_check(operator):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/platform/orders/new/").status_code == 403


def test_confirming_a_public_opt_out_shows_what_it_erases_and_asks_for_the_reference(
        staff_client, two_tenants, faces_dir, enforce_now):
    from portal.audit.services import Actor
    from portal.compliance.opt_outs import opt_out_create, opt_out_order_reference
    from portal.gallery.models import LegalBasis
    from portal.gallery.services import image_ingest

    for tenant, name in ((two_tenants.a.tenant, "obama_1.jpg"), (two_tenants.b.tenant, "obama_2.jpg"),
                         (None, "obama_3.jpg"), (two_tenants.a.tenant, "biden_1.jpg")):
        image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=Actor.system("test"),
                     legal_basis=LegalBasis.LAW_ENFORCEMENT, region="DE")
    opt_out = opt_out_create(pictures=[(faces_dir / "obama_4.jpg").read_bytes()], contact="me@example.test",
                             consent=True, channel=OptOut.Channel.PUBLIC_FORM, actor=Actor(label="public form"))
    reference = opt_out_order_reference(opt_out)
    page = staff_client.get(f"/platform/opt-outs/{opt_out.pk}/").content.decode()
    # A public request erases from the platform index only: its picture of the person, not the
    # tenants' (each decides for its own gallery, portal/rights/), nor the other person's.
    totals = re.search(r"<tfoot>.*?</tfoot>", page, re.S).group(0)
    assert re.findall(r">(\d+)</td>", totals)[:2] == ["1", "1"]
    assert "Platform index" in page and two_tenants.a.tenant.name not in page and reference in page

    for typed in ("", "OPT-OUT-WRONG"):
        response = staff_client.post(f"/platform/opt-outs/{opt_out.pk}/", {"action": "confirm",
                                                                          "confirm_reference": typed}, follow=True)
        assert "Not confirmed: type the reference" in response.content.decode()
        opt_out.refresh_from_db()
        assert opt_out.status == OptOut.Status.RECEIVED and not RegulatoryOrder.objects.exists()

    staff_client.post(f"/platform/opt-outs/{opt_out.pk}/", {"action": "confirm", "confirm_reference": reference})
    opt_out.refresh_from_db()
    assert opt_out.status == OptOut.Status.ENFORCING and opt_out.order.reference == reference

"""The Webhooks page and the Notices inbox in a real browser, by keyboard where a person would
use it, with screenshots at both widths (screenshots/webhooks-*, notices-*)."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_delete, image_ingest
from portal.search.models import FaceDisclosure
from portal.search.services import search_run
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tenants.context import tenant_scope
from tests.builders import AUTHORISED
from tests.e2e.conftest import log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("screenshots")


def test_owner_adds_an_endpoint_reads_the_log_and_replays(live_server, browser_page, two_tenants):
    page, base = browser_page, f"{live_server.url}/t/agency-a"
    log_in(page, live_server.url, two_tenants.a.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Webhooks: events sent to your systems").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    shoot(page, "webhooks-01-empty")

    address = page.get_by_label("Address")
    address.fill("http://cases.agency-a.example/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator(".field-error, .errorlist").first).to_contain_text("https://")
    page.get_by_label("Address").fill("https://127.0.0.1:9/hooks/portal")
    page.get_by_label("search.completed: one of your searches finished").check()
    page.get_by_label("Address").focus()
    page.keyboard.press("Enter")  # submits the form by keyboard
    expect(page.get_by_role("alert").filter(has_text="shown only this once")).to_be_visible()
    secret = page.locator("code.secret-value").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9_-]{43}", secret)

    tenant = two_tenants.a.tenant
    with tenant_scope(tenant):
        endpoint = WebhookEndpoint.objects.get()
        for n, (status, attempts, code, error) in enumerate([
                ("succeeded", 1, 200, ""), ("succeeded", 3, 200, ""),
                ("failed", 8, 503, ""), ("failed", 8, None, "ConnectionRefusedError: [Errno 111] Connection refused"),
                ("pending", 2, 500, "")]):
            WebhookDelivery.objects.create(
                tenant=tenant, endpoint=endpoint, event_id=uuid.uuid4(), status=status, attempts=attempts,
                event_type=["disclosure.recalled", "search.completed", "order.activated", "search.completed",
                            "disclosure.recalled"][n],
                payload={"n": n}, response_code=code, response_excerpt="ok" if code == 200 else "Service Unavailable",
                error=error, duration_ms=40 + n)
    page.goto(f"{base}/admin/webhooks/")
    expect(page.get_by_role("cell", name=re.compile("Connection refused"))).to_be_visible()
    shoot(page, "webhooks-02-log")

    page.get_by_role("button", name="Replay order.activated").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("is queued again")
    with tenant_scope(tenant):
        assert WebhookDelivery.objects.filter(replay_of__isnull=False, event_type="order.activated").count() == 1


def test_a_member_reads_and_acknowledges_a_notice(live_server, browser_page, two_tenants, faces_dir):
    tenant = two_tenants.a.tenant
    obama = image_ingest(tenant=tenant, data=(faces_dir / "obama_2.jpg").read_bytes(), actor=SYSTEM,
                         legal_basis=LegalBasis.LAW_ENFORCEMENT).image
    image_ingest(tenant=tenant, data=(faces_dir / "biden_1.jpg").read_bytes(), actor=SYSTEM,
                 legal_basis=LegalBasis.LAW_ENFORCEMENT)
    for case in ("CASE-2026-0311", "CASE-2026-0412"):
        search = search_run(tenant=tenant, actor=SYSTEM, probe=(faces_dir / "obama_1.jpg").read_bytes(),
                            case_reference=case, purpose="robbery", authorisation=AUTHORISED)
        with tenant_scope(tenant):
            FaceDisclosure.objects.bulk_create([FaceDisclosure(
                tenant=tenant, search_public_id=search.public_id, case_reference=case, face_uuid=face.uuid,
                image_public_id=obama.public_id, via="page") for face in obama.faces.all()])
    image_delete(tenant=tenant, image=obama, actor=SYSTEM)

    page = browser_page
    log_in(page, live_server.url, two_tenants.a.investigator.email)
    notices_link = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Notices"))
    expect(notices_link).to_contain_text("1")
    notices_link.click()
    expect(page.get_by_text("CASE-2026-0311")).to_be_visible()
    expect(page.get_by_text("CASE-2026-0412")).to_be_visible()
    shoot(page, "notices-01-open")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Acknowledge").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Notice acknowledged")
    expect(page.get_by_text(re.compile("Acknowledged by"))).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Notices")).to_have_text("Notices")
    shoot(page, "notices-02-acknowledged")

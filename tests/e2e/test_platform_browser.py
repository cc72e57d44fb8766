"""The platform area in a real browser: an operator enrols TOTP, files a regional order through
the form, reads the preview, activates it, watches the progress bar while a real Celery worker
deletes, and opens the certificate; screenshots of each page go to screenshots/."""

import re

import pytest
from celery import Celery
from portal.platform.models import SealedTOTPDevice
from playwright.sync_api import expect

from portal.platform import views as platform_views
from portal.audit.services import Actor
from portal.gallery.models import Image, LegalBasis
from portal.gallery.services import image_ingest
from tenants.context import dangerously_unscoped
from tests.e2e.conftest import log_in, shoot
from tests.factories import TEST_PASSWORD, UserFactory, enrolment_code_for, totp_token
from tests.worker import Worker, broker_url_of_this_test_database

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]



def _gallery(two_tenants, faces_dir):
    """FR pictures in both tenants and the platform index, and others that must stay."""
    actor = Actor.system("platform e2e")
    pictures = [(two_tenants.a.tenant, "obama_1.jpg", "FR"), (two_tenants.a.tenant, "biden_1.jpg", "DE"),
                (two_tenants.b.tenant, "obama_2.jpg", "FR-75C"), (two_tenants.b.tenant, "rose_leslie_1.jpg", "GB"),
                (None, "obama_3.jpg", "FR"), (None, "biden_2.jpg", "US")]
    for tenant, filename, region in pictures:
        image_ingest(tenant=tenant, data=(faces_dir / filename).read_bytes(), actor=actor,
                     legal_basis=LegalBasis.LAW_ENFORCEMENT, region=region)


def test_operator_files_activates_and_follows_an_order_to_its_certificate(
        live_server, browser_page, two_tenants, faces_dir, tmp_path, monkeypatch):
    _gallery(two_tenants, faces_dir)
    broker = broker_url_of_this_test_database()
    # The page queues enforcement after its commit; here it goes to this test's own worker.
    monkeypatch.setattr(platform_views, "_enforcement_enqueue", lambda order: Celery(broker=broker).send_task(
        "compliance.order_enforce", args=[order.pk]))
    operator = UserFactory(is_staff=True, email="operator@portal.test")
    page, base = browser_page, live_server.url

    # Logged out, the platform's address leads to the log-in page and, once logged in, back to the
    # platform area (its two-factor set-up first), not to the tenants' start page.
    page.goto(f"{base}/platform/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/platform/"))
    page.get_by_label("E-mail").fill(operator.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/platform/2fa/enrol/"))
    shoot(page, "19-platform-2fa-enrolment-code")
    page.get_by_label("Enrolment code from another operator").fill(enrolment_code_for(operator).lower())
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    shoot(page, "20-platform-2fa-enrol")
    device = SealedTOTPDevice.objects.get(user=operator, confirmed=False)
    page.get_by_label("6-digit code from your authenticator app").fill(totp_token(device))
    page.get_by_role("button", name="Confirm").click()
    # Enrolment ends on the one-time backup codes, then the operator goes on to the dashboard.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Backup codes")
    expect(page.locator("ol.backup-codes li")).to_have_count(10)
    shoot(page, "20b-platform-backup-codes")
    page.get_by_role("link", name=re.compile("stored them")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compliance")
    shoot(page, "21-platform-dashboard")

    page.goto(f"{base}/platform/orders/new/")
    # Only the chosen kind's fields show.
    page.get_by_label("Kind").select_option("subject")
    expect(page.get_by_label("Match threshold")).to_be_visible()
    expect(page.get_by_label("Regions")).to_be_hidden()
    page.get_by_label("Kind").select_option("offboarding")
    expect(page.get_by_text("Where it applies")).to_be_hidden()
    page.get_by_label("Kind").select_option("regional")
    expect(page.get_by_label("Match threshold")).to_be_hidden()
    expect(page.get_by_label("Domains")).to_be_hidden()
    page.get_by_label("Authority").fill("CNIL")
    page.get_by_role("textbox", name=re.compile(r"^Reference:")).fill("SAN-2026-041")
    page.get_by_label("Received on").fill("2026-11-20")
    page.get_by_label("Effective at").fill("2026-11-21T00:00")
    page.get_by_label("Deadline").fill("2027-01-20")
    page.get_by_label("Regions").fill("FR")
    shoot(page, "22-platform-order-form")
    page.get_by_role("button", name="Save as draft").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("CNIL SAN-2026-041")
    preview = page.locator("section", has=page.get_by_role("heading", name=re.compile("Preview")))
    expect(preview.locator("tfoot")).to_contain_text("3")  # three FR pictures, one face each
    shoot(page, "23-platform-order-preview")

    log = tmp_path / "worker.log"
    with Worker(log=log, broker=broker, batch_size=1) as worker:
        page.get_by_label("Order reference").fill("SAN-2026-041")
        page.get_by_role("button", name=re.compile("^Activate")).click()
        expect(page.locator("#order-progress .badge")).not_to_have_text("Draft")
        progress = page.get_by_role("progressbar", name="Deletion progress")
        expect(progress).to_be_visible()
        # The bar refreshes itself (htmx, every 2 s) until the worker has deleted and verified.
        with worker.log_on_failure():
            expect(page.locator("#order-progress")).to_contain_text("Verification passed", timeout=90_000)
        assert worker.process.poll() is None, worker.output()
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#order-progress")).to_contain_text("deleted 3 of 3 images")
    expect(page.get_by_role("button", name="Restart enforcement")).to_have_count(0)
    shoot(page, "24-platform-order-verified")

    page.get_by_role("link", name="Certificate").click()
    expect(page.locator("body")).to_contain_text("SAN-2026-041")
    expect(page.locator("tfoot")).to_contain_text("3")
    shoot(page, "25-platform-certificate")
    with dangerously_unscoped(reason="test"):
        assert set(Image.objects.values_list("region", flat=True)) == {"DE", "GB", "US"}

    page.goto(f"{base}/platform/audit/")
    expect(page.locator("body")).to_contain_text("order.activate")
    expect(page.locator("body")).to_contain_text("order.verify")
    shoot(page, "26-platform-audit")

    # Another operator joins: an enrolment code is issued for them on the Operators page.
    UserFactory(is_staff=True, email="second.operator@portal.test")
    page.get_by_role("link", name="Operators").click()
    page.get_by_role("button", name="Issue an enrolment code").click()
    expect(page.locator("code.secret-value")).to_have_text(re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$"))
    shoot(page, "27-platform-operators")
    page.get_by_role("link", name="Backup codes").click()
    expect(page.get_by_text("unused backup codes")).to_be_visible()
    shoot(page, "28-platform-backup-codes-left")


def test_a_tenant_owner_gets_404_in_the_platform_area(live_server, browser_page, two_tenants):
    page = browser_page
    log_in(page, live_server.url, two_tenants.a.owner.email)
    response = page.goto(f"{live_server.url}/platform/orders/")
    assert response.status == 404

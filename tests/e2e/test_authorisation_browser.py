"""An urgent law-enforcement search, its refusal, the compliance page, the settings' search limits
and the platform's search floors, in a real browser, by keyboard where a person would type;
screenshots at desktop and phone widths go to screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.platform.models import SealedTOTPDevice
from tests.e2e.conftest import log_in, shoot
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_urgent_search_refused_then_the_compliance_page_and_limits(live_server, browser_page, two_tenants,
                                                                      faces_dir):
    image_ingest(tenant=two_tenants.a.tenant, data=(faces_dir / "obama_1.jpg").read_bytes(),
                 actor=Actor.system("e2e"), legal_basis=LegalBasis.LAW_ENFORCEMENT, region="GB")
    page, base = browser_page, f"{live_server.url}/t/agency-a"
    log_in(page, live_server.url, two_tenants.a.investigator.email)

    page.goto(f"{base}/search/")
    page.get_by_label("Probe picture").set_input_files(str(faces_dir / "obama_2.jpg"))
    expect(page.locator("#picture-status")).to_contain_text("One face found")
    page.get_by_label("Case reference").fill("CASE-URGENT-1")
    page.get_by_label("Purpose").fill("Armed robbery in progress")
    page.get_by_label("Urgent: run now, record the authorisation within 48 hours").focus()
    page.keyboard.press("Space")
    shoot(page, "oversight-01-urgent-search-form")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/searches/[0-9a-f-]{36}/$"))
    expect(page.locator("#authorisation-title")).to_be_visible()
    expect(page.get_by_text("Urgent, awaiting authorisation")).to_be_visible()
    expect(page.locator("section[aria-labelledby=leads-title] .match")).not_to_have_count(0)
    shoot(page, "oversight-02-urgent-search-pending")

    page.get_by_label("Refused").check()
    page.get_by_label("Authority", exact=True).fill("Westminster Magistrates' Court")
    page.get_by_label("Reference", exact=True).fill("WMC-2026-0042")
    page.get_by_label("Date of the decision").fill(page.evaluate("new Date().toISOString().slice(0, 10)"))
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The refusal was recorded")).to_be_visible()
    expect(page.locator("#leads-title")).to_have_count(0)
    expect(page.get_by_text("probe deleted")).to_be_visible()
    shoot(page, "oversight-03-urgent-search-refused")

    page.context.clear_cookies()  # the next person on this browser
    log_in(page, live_server.url, two_tenants.a.owner.email)
    page.goto(f"{base}/compliance/")
    expect(page.get_by_role("link", name="CASE-URGENT-1")).to_be_visible()
    shoot(page, "oversight-04-compliance")
    page.goto(f"{base}/admin/settings/")
    threshold = page.get_by_label("Lowest lead threshold for your searches")
    expect(threshold).to_have_attribute("min", "0.9")  # the browser refuses a looser one before sending it
    threshold.fill("0.95")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_text("leads from 0.95, at most 50 matches")).to_be_visible()
    shoot(page, "oversight-05-settings-search-limits")


def test_an_operator_sets_a_floor(live_server, browser_page):
    operator = UserFactory(is_staff=True, email="floors@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page, base = browser_page, live_server.url
    log_in(page, base, operator.email)
    page.goto(f"{base}/platform/search-floors/")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(totp_token(device))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/platform/search-floors/$"))
    retail = page.locator("form.floor-form").filter(has=page.locator("input[value=retail]"))
    retail.get_by_label("Leads from").fill("0.94")
    retail.get_by_role("button").click()
    expect(page.get_by_text("The floor for retail tenants is saved")).to_be_visible()
    expect(retail.get_by_label("Leads from")).to_have_value("0.94")
    shoot(page, "oversight-06-platform-search-floors")

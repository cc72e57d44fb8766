"""Screenshots of every main page at desktop and mobile widths into screenshots/ (git-ignored),
for a person to look at. Each page is also checked for what must be on it."""

import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from tests.e2e.conftest import authorisation_fill, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _world(two_tenants, faces_dir):
    tenant, actor = two_tenants.a.tenant, Actor.system("screenshots")
    for filename, label, reference in [("obama_1.jpg", "Barack Obama", "BK-1001"), ("biden_1.jpg", "Joe Biden", "BK-1002"),
                                       ("rose_leslie_1.jpg", "Rose Leslie", "")]:
        subject = subject_create(tenant=tenant, label=label, reference=reference, actor=actor)
        subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=actor,
                      legal_basis=LegalBasis.LAW_ENFORCEMENT, region="GB")
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / "rose_leslie_2.jpg").read_bytes(), actor=actor,
                  legal_basis=LegalBasis.CONSENT, source_url="https://press.example.co.uk/rose.jpg")
    image_ingest(tenant=None, data=(faces_dir / "obama_3.jpg").read_bytes(), actor=actor,
                 legal_basis=LegalBasis.PUBLIC_RECORD, source_url="https://news.example.org/a/obama.jpg", region="US")


def test_screenshots_of_the_main_pages(live_server, browser_page, two_tenants, faces_dir):
    _world(two_tenants, faces_dir)
    page, base = browser_page, f"{live_server.url}/t/agency-a"

    page.goto(f"{live_server.url}/accounts/login/")
    shoot(page, "01-login")
    log_in(page, live_server.url, two_tenants.a.owner.email)
    shoot(page, "02-dashboard")

    page.goto(f"{base}/search/")
    shoot(page, "03-search-empty")
    page.get_by_label("Probe picture").set_input_files(str(faces_dir / "group_obama_biden_2.jpg"))
    expect(page.locator(".face-box")).to_have_count(2)
    page.get_by_label("Case reference").fill("CASE-2024-17")
    page.get_by_label("Purpose").fill("Identify the person at the bank counter on CCTV, 3 March")
    authorisation_fill(page)
    page.get_by_role("button", name="Face 2").click()
    shoot(page, "04-search-preview")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/searches/[0-9a-f-]{36}/$"))
    page.wait_for_load_state("networkidle")
    shoot(page, "05-search-results")
    # The group picture's other face, from the result page, without uploading it again.
    page.get_by_role("link", name="Search the other face of this picture").click()
    expect(page.get_by_role("radio")).to_have_count(2)
    expect(page.get_by_label("Case reference")).to_have_value("CASE-2024-17")
    authorisation_fill(page)
    shoot(page, "05b-search-other-face")
    page.get_by_role("button", name="Search this face").click()
    expect(page).to_have_url(re.compile(r"/searches/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name=re.compile("Leads"))).to_be_visible()

    page.goto(f"{base}/search/")
    page.get_by_label("Probe picture").set_input_files(str(faces_dir / "obama_2.jpg"))
    expect(page.locator("#picture-status")).to_contain_text("One face found")
    page.get_by_label("Case reference").fill("CASE-2024-18")
    page.get_by_label("Purpose").fill("Follow-up")
    authorisation_fill(page)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/searches/[0-9a-f-]{36}/$"))
    page.wait_for_load_state("networkidle")
    shoot(page, "06-search-results-strong")

    page.goto(f"{base}/searches/")
    shoot(page, "07-history")
    page.goto(f"{base}/subjects/")
    shoot(page, "08-gallery")
    page.get_by_role("link", name=re.compile("Rose Leslie")).click()
    page.wait_for_load_state("networkidle")
    shoot(page, "09-subject")
    page.goto(f"{base}/admin/members/")
    page.get_by_label("E-mail address").fill("new.analyst@agency-a.example")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("An invitation to join as investigator was sent")).to_be_visible()
    shoot(page, "10-members-invited")
    # The invited person opens the link from the e-mail, signed out, and chooses a password.
    from django.core import mail

    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    invited = page.context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    invited.goto(link)
    expect(invited.get_by_role("heading", level=1)).to_contain_text("Join")
    shoot(invited, "10b-invitation")
    invited.get_by_label("Choose a password").fill("a long passphrase 1984")
    invited.get_by_label("The password again").fill("a long passphrase 1984")
    invited.get_by_role("button", name="Make my account and join").click()
    expect(invited).to_have_url(re.compile(r"/t/agency-a/$"))
    invited.context.close()
    page.goto(f"{base}/admin/api-keys/")
    page.get_by_label("Name").fill("Records bridge")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("It is shown only this once")).to_be_visible()
    shoot(page, "16-api-keys")
    page.goto(f"{base}/admin/settings/")
    shoot(page, "11-settings")
    page.goto(f"{base}/audit/")
    shoot(page, "12-audit-log")
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_role("status").filter(has_text="Chain intact")).to_be_visible()
    shoot(page, "12-audit-log-verified")
    page.goto(f"{base.split('/t/')[0]}/accounts/password_change/")
    shoot(page, "17-password-change")
    page.get_by_label("Current password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("x")
    page.get_by_label("New password again").fill("x")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_text("incorrectly")).to_be_visible()
    shoot(page, "17-password-change-refused")

    blank_search = f"{base}/search/"
    page.goto(blank_search)
    page.get_by_label("Probe picture").set_input_files(str(faces_dir / "obama_1.jpg"))
    page.get_by_label("Case reference").fill("")
    page.evaluate("document.querySelector('#search-form').noValidate = true")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_load_state()
    shoot(page, "13-search-errors")

    page.context.clear_cookies()
    log_in(page, live_server.url, two_tenants.a.auditor.email)
    page.goto(f"{base}/search/")
    shoot(page, "14-auditor-403")
    page.goto(f"{live_server.url}/t/retailer-b/")
    shoot(page, "15-other-tenant-404")


def test_screenshot_of_a_new_tenants_first_page(live_server, browser_page, two_tenants):
    page = browser_page
    log_in(page, live_server.url, two_tenants.b.investigator.email)
    expect(page.get_by_role("heading", name="Your gallery is empty")).to_be_visible()
    page.get_by_role("link", name="Enrol pictures").focus()
    shoot(page, "00-new-tenant-empty-gallery")

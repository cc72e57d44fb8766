"""Two-person review in a real browser (#12): an investigator searches and every lead is an
unconfirmed lead whose export is refused; reviewer one confirms; the investigator cannot be the
second; reviewer two confirms; the evidence pack's PDF names both reviewers. Screenshots of each
step at desktop and phone widths."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import subject_create, subject_enrol
from tests.builders import reviewers_allow
from tests.e2e.conftest import DESKTOP, authorisation_fill, log_in, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _enrol(tenant, faces_dir, filename, label):
    actor = Actor.system("e2e set-up")
    subject = subject_create(tenant=tenant, label=label, actor=actor)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=actor,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT, source_url="https://records.example.gov/booking/1")


def _page_of(chromium, live_server, email):
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, live_server.url, email)
    return page


def _verdict(page, card, verdict, reason):
    """By keyboard: open the form, choose the verdict, type the reason, send."""
    summary = card.get_by_text("Give your verdict")
    summary.focus()
    page.keyboard.press("Enter")
    card.get_by_label(verdict, exact=True).check()
    card.get_by_label("Reason").fill(reason)
    card.get_by_role("button", name="Record verdict").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()


def test_two_people_confirm_a_lead_before_its_evidence_pack_leaves(live_server, chromium, two_tenants, faces_dir):
    a = two_tenants.a
    _enrol(a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    _enrol(a.tenant, faces_dir, "biden_1.jpg", "Joe Biden")
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin, a.investigator])

    # The investigator searches: every lead says it is unconfirmed, and export is refused.
    investigator = _page_of(chromium, live_server, a.investigator.email)
    investigator.goto(f"{live_server.url}/t/agency-a/search/")
    investigator.wait_for_load_state("load")
    investigator.get_by_label("Probe picture").set_input_files(str(faces_dir / "obama_2.jpg"))
    expect(investigator.locator("#picture-status")).to_contain_text("One face found")
    investigator.get_by_label("Case reference").fill("CASE-2026-12")
    investigator.get_by_label("Purpose").fill("Robbery at the station, CCTV still")
    authorisation_fill(investigator)
    investigator.get_by_role("button", name="Search", exact=True).click()
    expect(investigator).to_have_url(re.compile(r"/t/agency-a/searches/[0-9a-f-]{36}/$"))
    search_url = investigator.url
    leads = investigator.locator("section[aria-labelledby=leads-title] .match")
    expect(leads.first).to_contain_text("Barack Obama")
    assert leads.count() >= 1
    for n in range(leads.count()):
        expect(leads.nth(n).locator(".review-state")).to_contain_text("Unconfirmed lead")
    shoot(investigator, "review-1-unconfirmed-leads")
    first = leads.first
    first.get_by_role("button", name="Evidence pack (PDF)").click()
    investigator.wait_for_load_state()
    expect(investigator.get_by_role("alert")).to_contain_text("unconfirmed lead")
    shoot(investigator, "review-2-export-refused")

    # Reviewer one confirms.
    owner = _page_of(chromium, live_server, a.owner.email)
    owner.goto(search_url)
    card = owner.locator("section[aria-labelledby=leads-title] .match").first
    _verdict(owner, card, "Confirmed", "Same scar above the left eyebrow and ear shape as the booking photo.")
    card = owner.locator("section[aria-labelledby=leads-title] .match").first
    expect(card.locator(".review-state")).to_contain_text("confirmations: 1 of 2")
    expect(card.locator(".verdicts")).to_contain_text(a.owner.email)
    shoot(owner, "review-3-first-confirmation")

    # The investigator ran the search: they cannot be the second.
    investigator.goto(search_url)
    card = investigator.locator("section[aria-labelledby=leads-title] .match").first
    _verdict(investigator, card, "Confirmed", "It is him.")
    expect(investigator.get_by_role("alert")).to_contain_text("cannot be the second")
    shoot(investigator, "review-4-searcher-refused")

    # Reviewer two confirms; the lead is confirmed and its evidence pack names both reviewers.
    admin = _page_of(chromium, live_server, a.admin.email)
    admin.goto(search_url)
    card = admin.locator("section[aria-labelledby=leads-title] .match").first
    _verdict(admin, card, "Confirmed", "Independent comparison with the 2019 custody record: same person.")
    card = admin.locator("section[aria-labelledby=leads-title] .match").first
    expect(card.locator(".review-state")).to_contain_text("Confirmed")
    expect(card.locator(".review-state")).to_contain_text("confirmations: 2 of 2")
    shoot(admin, "review-5-confirmed")
    with admin.expect_download() as download:
        card.get_by_role("button", name="Evidence pack (PDF)").click()
    pdf = download.value
    assert pdf.suggested_filename == "evidence-CASE-2026-12-1.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(open(pdf.path(), "rb").read())).pages)
    assert a.owner.email in text and a.admin.email in text
    assert "CASE-2026-12" in text and "Independent comparison" in text

    # The owner sees who looked, the export included.
    owner.goto(search_url)
    who = owner.locator("section[aria-labelledby=access-title]")
    expect(who).to_contain_text(a.admin.email)
    expect(who).to_contain_text("Evidence pack")
    expect(owner.locator("section[aria-labelledby=disclosures-title]")).to_contain_text(a.admin.email)
    shoot(owner, "review-6-who-looked")

    owner.goto(f"{live_server.url}/t/agency-a/admin/members/")
    expect(owner.get_by_text("Reviews matches:").first).to_be_visible()
    expect(owner.get_by_role("button", name=f"{a.investigator.email} reviews matches")).to_have_attribute(
        "aria-pressed", "true")
    shoot(owner, "review-7-members-reviewers")
    owner.goto(f"{live_server.url}/t/agency-a/admin/settings/")
    expect(owner.get_by_label(re.compile("Two different people must confirm"))).to_be_disabled()
    shoot(owner, "review-8-settings-two-person")
    for page in (investigator, owner, admin):
        page.context.close()

"""A match whose face only the CNN detector found says so on its card; a HOG face's card does not (#15)."""

import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest, subject_create
from tests.e2e.conftest import DESKTOP, authorisation_fill, log_in, shoot
from tests.faces.pictures import bearded_tilted_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_match_card_names_the_cnn_fallback(live_server, chromium, two_tenants, faces_dir):
    a = two_tenants.a
    actor = Actor.system("e2e set-up")
    subject = subject_create(tenant=a.tenant, label="Kit Harington", actor=actor)
    tilted = image_ingest(tenant=a.tenant, data=bearded_tilted_jpeg(faces_dir=faces_dir), actor=actor,
                          legal_basis=LegalBasis.LAW_ENFORCEMENT, subject=subject)
    upright = image_ingest(tenant=a.tenant, data=(faces_dir / "kit_harington_1.jpg").read_bytes(), actor=actor,
                           legal_basis=LegalBasis.LAW_ENFORCEMENT, subject=subject)
    assert [f.detector for f in tilted.faces] == ["cnn"] and [f.detector for f in upright.faces] == ["hog"]

    page = chromium.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(60_000)
    log_in(page, live_server.url, a.investigator.email)
    page.goto(f"{live_server.url}/t/agency-a/search/")
    page.get_by_label("Probe picture").set_input_files(str(faces_dir / "kit_harington_2.jpg"))
    expect(page.locator("#picture-status")).to_contain_text("One face found")
    page.get_by_label("Case reference").fill("CASE-15")
    page.get_by_label("Purpose").fill("Detector shown on the match card")
    authorisation_fill(page)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/t/agency-a/searches/[0-9a-f-]{36}/$"))

    cards = page.locator(".match")
    expect(cards).to_have_count(2)
    noted = page.locator(".match", has_text="CNN fallback")
    expect(noted).to_have_count(1)
    expect(noted.locator(".provenance")).to_contain_text("the usual detector found no face in this picture")
    # One "Detector" row among both cards: the HOG face's card has none.
    expect(page.locator(".match .provenance dt", has_text="Detector")).to_have_count(1)
    # The tilted face scores below the lead threshold against this probe: open the list it is in.
    page.get_by_text(re.compile(r"more similar face.* below the threshold")).click()
    noted.scroll_into_view_if_needed()
    shoot(page, "detector-cnn-match-card")

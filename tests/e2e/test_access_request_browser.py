"""A data subject's access request (GDPR Art. 15) in a real browser: the requester asks through
the public form and confirms the e-mail link read from a real SMTP server, the operator verifies
them and releases the platform index's part, one tenant releases its part from its inbox while
another has not decided yet, and the requester downloads the answer from the status page: their
pictures with every other face blurred, the undecided tenant named. Screenshots:
screenshots/access-*."""

import io
import json
import re
import zipfile

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.faces.engine import face_engine
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.rights.models import DataSubjectRequest
from tests.e2e.conftest import log_in, shoot
from tests.e2e.request_steps import operator_page, request_form_send

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _embedding(data: bytes) -> np.ndarray:
    return face_engine().faces_detect(data=data).largest().embedding


def test_a_requester_downloads_their_access_answer_with_other_faces_blurred(
        live_server, browser_page, chromium, two_tenants, faces_dir, smtp_server):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    for tenant, name in ((a, "group_obama_biden_1.jpg"), (b, "obama_small.jpg"), (None, "obama_3.jpg")):
        image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=Actor.system("e2e"),
                     legal_basis=LegalBasis.LAW_ENFORCEMENT)
    page, base = browser_page, live_server.url

    # The requester asks for access and confirms their address.
    request_form_send(page, base, kind="Access (GDPR Art. 15)", picture=faces_dir / "obama_1.jpg",
                      document=faces_dir / "obama_4.jpg")
    expect(page.get_by_role("heading", name="Your request is received")).to_be_visible()
    status_url = page.get_by_role("link", name="Follow your request here").get_attribute("href")
    page.goto(smtp_server.wait_for(1)[0].link(r"http://\S+/opt-out/confirm/\S+/"))
    expect(page.get_by_role("heading", name="Your address is confirmed")).to_be_visible()

    # The operator verifies and releases the platform index's part (a browser of their own).
    requester_page, page = page, operator_page(chromium, base)
    request = DataSubjectRequest.objects.get()
    page.goto(f"{base}/platform/requests/{request.pk}/")
    page.get_by_label(re.compile("I compared the two faces")).check()
    page.get_by_role("button", name="Verify and forward").click()
    expect(page.locator(".messages")).to_contain_text("forwarded")
    page.get_by_label("Comply", exact=True).check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".messages")).to_contain_text("Decision recorded")
    page.context.close()

    # Tenant A releases its part from its inbox; tenant B has not decided.
    page = requester_page
    log_in(page, base, two_tenants.a.owner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Requests")).click()
    page.get_by_role("link", name=request.reference).click()
    page.get_by_label("Comply", exact=True).check()
    shoot(page, "access-01-tenant-releases")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("row", name=re.compile(request.reference))).to_contain_text("Answer released")

    # The requester downloads the answer from the status page.
    page.context.clear_cookies()
    page.goto(f"{base}{status_url}")
    expect(page.get_by_role("heading", name="Your answer")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Some customers have not decided yet")
    expect(page.locator("main")).to_contain_text("Awaiting its decision")  # not the tenant's "your"
    shoot(page, "access-02-status-with-answer")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download it with the pictures (ZIP)").click()
    with zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes())) as archive:
        data = json.loads(archive.read("access-answer.json"))
        files = {name: archive.read(name) for name in archive.namelist()}
    held_by = sorted(picture["held_by"] for picture in data["pictures"])
    assert len(held_by) == 2 and a.name in held_by and b.name not in held_by
    assert [row["held_by"] for row in data["withheld"]] == [b.name]
    group = next(picture for picture in data["pictures"] if picture["held_by"] == a.name)
    assert group["other_faces_blurred"] == 1
    # The engine still finds the requester in the group picture, and no longer the other person.
    requester, other = (_embedding((faces_dir / name).read_bytes()) for name in ("obama_1.jpg", "biden_1.jpg"))
    found = face_engine().faces_detect(data=files[group["file"]]).faces
    assert max(float(np.dot(face.embedding, requester)) for face in found) >= settings.SEARCH_STRONG_THRESHOLD
    assert all(float(np.dot(face.embedding, other)) < settings.SEARCH_STRONG_THRESHOLD for face in found)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the answer (PDF)").click()
    assert download_info.value.path().read_bytes().startswith(b"%PDF")

"""A data subject's erasure request in a real browser, end to end: the requester fills in the
public form, confirms the e-mail link read from a real SMTP server, the operator verifies them on
the side-by-side page, the two tenants holding their pictures each decide from their inbox (one
refuses on a law-enforcement ground, one complies), the operator decides for the platform index
and the requester's status page says it is answered. Screenshots: screenshots/requests-*."""

import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.platform import request_views
from portal.web.views import requests as tenant_request_views
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.gallery.models import Image, LegalBasis
from portal.gallery.services import image_ingest
from portal.rights.models import DataSubjectRequest
from tenants.context import dangerously_unscoped
from tests.e2e.conftest import log_in, shoot
from tests.e2e.request_steps import operator_page, request_form_send

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _held() -> set[tuple]:
    with dangerously_unscoped(reason="test"):
        return set(Image.objects.values_list("tenant_id", "sha256"))


def test_a_requester_an_operator_and_two_tenants_handle_an_erasure_request(
        live_server, browser_page, chromium, two_tenants, faces_dir, smtp_server, monkeypatch):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    pictures = {}
    for tenant, name in ((a, "obama_2.jpg"), (b, "obama_small.jpg"), (None, "obama_3.jpg"), (a, "biden_1.jpg")):
        pictures[(tenant.pk if tenant else None, name)] = image_ingest(
            tenant=tenant, data=(faces_dir / name).read_bytes(), actor=Actor.system("e2e"),
            legal_basis=LegalBasis.LAW_ENFORCEMENT).image.sha256
    queued = []  # enforcement runs below, in the test's stead (no broker here)
    monkeypatch.setattr(request_views, "_enforcement_enqueue", lambda order: queued.append(order.pk))
    monkeypatch.setattr(tenant_request_views, "_enforcement_enqueue", lambda order: queued.append(order.pk))
    page, base = browser_page, live_server.url

    # The requester.
    request_form_send(page, base, kind="Erasure (GDPR Art. 17)", picture=faces_dir / "group_kit_rose.jpg",
                      document=faces_dir / "obama_4.jpg")
    expect(page.locator(".field.has-error")).to_contain_text("2 faces were found")  # nothing stored
    shoot(page, "requests-01-form-two-faces")
    page.get_by_label("A picture of your face").set_input_files(str(faces_dir / "obama_1.jpg"))
    page.get_by_label("A picture of your identity document").set_input_files(str(faces_dir / "obama_4.jpg"))
    page.get_by_role("button", name="Send my request").click()
    expect(page.get_by_role("heading", name="Your request is received")).to_be_visible()
    shoot(page, "requests-02-received")
    status_url = page.get_by_role("link", name="Follow your request here").get_attribute("href")
    [message] = smtp_server.wait_for(1)
    assert message.envelope_to == ["person@example.test"]
    page.goto(f"{base}{status_url}")
    expect(page.locator("dl.facts")).to_contain_text("Awaiting the e-mail confirmation")
    page.goto(message.link(r"http://\S+/opt-out/confirm/\S+/"))
    expect(page.get_by_role("heading", name="Your address is confirmed")).to_be_visible()
    assert page.goto(f"{base}/opt-out/status/forged-{status_url.split('/')[-2][7:]}/").status == 404

    # The operator verifies the requester, then decides for the platform index (in a browser of
    # their own, which stays signed in: a TOTP code is accepted once).
    requester_page, page = page, operator_page(chromium, base)
    operator_tab = page
    page.get_by_role("navigation", name="Platform").get_by_role("link", name="Requests").click()
    request = DataSubjectRequest.objects.get()
    expect(page.get_by_role("row", name=re.compile(request.reference))).to_contain_text("Awaiting identity")
    shoot(page, "requests-03-dashboard")
    page.get_by_role("link", name=request.reference).click()
    expect(page.locator(".face-compare img")).to_have_count(2)
    page.wait_for_function("() => [...document.querySelectorAll('.face-compare img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")  # both faces shown
    expect(page.locator(".similarity")).to_contain_text(re.compile(r"0\.9\d\d"))
    shoot(page, "requests-04-verify-side-by-side")
    page.get_by_label(re.compile("I compared the two faces")).check()
    page.get_by_role("button", name="Verify and forward").click()
    expect(page.locator(".messages")).to_contain_text("forwarded")
    expect(page.get_by_role("cell", name=a.name)).to_be_visible()
    expect(page.get_by_role("cell", name=b.name)).to_be_visible()

    # Tenant A, a police force: its custody picture stays, on a recorded law-enforcement ground.
    page = requester_page
    page.context.clear_cookies()
    log_in(page, base, two_tenants.a.owner.email)
    requests_link = page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Requests"))
    expect(requests_link).to_contain_text("1")
    requests_link.click()
    expect(page.get_by_role("row", name=re.compile(request.reference))).to_contain_text("days left")
    shoot(page, "requests-05-tenant-inbox")
    page.get_by_role("link", name=request.reference).click()
    page.get_by_label("Refuse", exact=True).check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".field.has-error").first).to_contain_text("legal ground")
    page.get_by_label("Legal ground of a refusal").select_option("law_enforcement")
    page.get_by_label("Reasoning of a refusal").fill("Custody record held under the Police Act; case 2026/114.")
    shoot(page, "requests-06-tenant-refuses")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("row", name=re.compile(request.reference))).to_contain_text("Refused")

    # Tenant B complies: erasure of its own picture only.
    page.context.clear_cookies()
    log_in(page, base, two_tenants.b.owner.email)
    page.goto(f"{base}/t/{b.slug}/requests/")
    page.get_by_role("link", name=request.reference).click()
    page.get_by_label("Comply", exact=True).check()
    page.get_by_label(re.compile("type the request's reference")).fill(request.reference)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("row", name=re.compile(request.reference))).to_contain_text("Complied with")
    [order_id] = queued
    queued.clear()
    with dangerously_unscoped(reason="test"):
        order = order_enforce(order=RegulatoryOrder.objects.get(pk=order_id))
    assert (order.scope_tenant_ids, order.scope_platform_index) == ([b.pk], False)
    held = _held()
    assert (b.pk, pictures[(b.pk, "obama_small.jpg")]) not in held
    assert (a.pk, pictures[(a.pk, "obama_2.jpg")]) in held and (None, pictures[(None, "obama_3.jpg")]) in held

    # The operator complies for the platform index; the request is answered.
    page = operator_tab
    page.goto(f"{base}/platform/requests/{request.pk}/")
    page.get_by_label("Comply", exact=True).check()
    page.get_by_label(re.compile("type the request's reference")).fill(request.reference)
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".messages")).to_contain_text("Decision recorded")
    shoot(page, "requests-07-operator-decided")
    page.context.close()
    page = requester_page
    page.context.clear_cookies()
    page.goto(f"{base}{status_url}")
    expect(page.locator("dl.facts")).to_contain_text("Answered")
    expect(page.locator("main")).to_contain_text("Custody record held under the Police Act")
    shoot(page, "requests-08-status-answered")
    assert "answered" in smtp_server.wait_for(2)[-1].subject

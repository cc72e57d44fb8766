"""Signed proof in a real browser: an operator downloads an order's signed certificate and it
verifies offline against the public keys file; the signatures page lists the keys and the signed
heads; a tenant's auditor downloads a signed head of its own chain and checks it on the page."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from portal.audit import tasks
from portal.audit.heads import audit_heads_check
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.platform.models import SealedTOTPDevice
from tests.builders import order_fields
from tests.e2e.conftest import log_in, shoot
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_operator_downloads_a_signed_certificate_that_verifies_offline(live_server, browser_page, tmp_path):
    order = order_enforce(order=order_activate(
        order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["DE"],
                                          reference="SAN-2026-077")), actor=Actor.system("e2e")))
    tasks.heads_sign()
    operator = UserFactory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page, base = browser_page, live_server.url
    log_in(page, base, operator.email)
    page.goto(f"{base}/platform/")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(totp_token(device))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compliance")

    page.goto(f"{base}/platform/orders/{order.pk}/certificate/")
    expect(page.get_by_role("heading", name="Signed copy")).to_be_visible()
    shoot(page, "25b-platform-certificate-signed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Signed file").click()
    certificate = tmp_path / download.value.suggested_filename
    download.value.save_as(certificate)
    assert certificate.name == "certificate-SAN-2026-077.signed.json"
    keys = tmp_path / "keys.json"
    keys.write_bytes(page.request.get(f"{base}/.well-known/portal-signing-keys.json").body())
    call_command("certificate_verify", str(certificate), "--keys", str(keys))

    page.get_by_role("link", name="Signatures").click()
    expect(page.get_by_role("heading", name="Signing keys")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("current")
    expect(page.locator("table").nth(1).locator("tbody tr")).to_have_count(1)
    shoot(page, "26b-platform-signatures")


def test_an_auditor_downloads_a_signed_head_of_its_chain(live_server, browser_page, two_tenants, tmp_path):
    a = two_tenants.a
    page, base = browser_page, live_server.url
    log_in(page, base, a.owner.email)
    page.goto(f"{base}/t/{a.tenant.slug}/audit/")
    link = page.get_by_role("link", name="Download the signed head")
    expect(link).to_be_visible()
    link.focus()  # reachable by keyboard
    shoot(page, "15b-audit-signed-head")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    kept = tmp_path / "head.json"
    download.value.save_as(kept)
    assert re.fullmatch(r"audit-head-.+\.signed\.json", download.value.suggested_filename)
    assert audit_heads_check(data=kept.read_bytes()).ok
    page.get_by_label("A signed head you kept (.json)").set_input_files(str(kept))
    page.get_by_role("button", name="Check a kept head").click()
    expect(page.get_by_role("status")).to_contain_text("Your chain still holds the signed head.")
    shoot(page, "15c-audit-signed-head-checked")

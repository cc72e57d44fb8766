"""In a real browser: a tenant at home in a country a regional order covers reads why its pictures
of unknown region are refused, on its gallery and enrolment pages, and the operator reads which
tenants an order will block before activating it. Screenshots go to screenshots/."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.services import subject_create
from portal.platform.models import SealedTOTPDevice
from tests.builders import order_fields
from tests.e2e.conftest import log_in, shoot
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("home region e2e")


def test_the_blocked_tenant_is_told_and_the_operator_warned(live_server, browser_page, two_tenants):
    page, base = browser_page, live_server.url
    draft = order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR", "BE"],
                                        authority="CNIL", reference="CNIL-2026-114"))

    # The operator, signed in with two factors (the session is handed to the browser).
    operator = UserFactory(is_staff=True)
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client = Client()
    client.force_login(operator)
    client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    page.goto(f"{base}/platform/orders/{draft.pk}/")
    warning = page.locator(".alert.warning")
    expect(warning).to_contain_text("stops one tenant from ingesting pictures of unknown region")
    expect(warning).to_contain_text("Retailer B (retailer-b), home country FR")
    expect(warning).not_to_contain_text("Agency A")
    warning.scroll_into_view_if_needed()
    shoot(page, "60-platform-order-preview-blocked-tenants")
    page.context.clear_cookies()

    order_activate(order=draft, actor=SYSTEM)
    subject = subject_create(tenant=two_tenants.b.tenant, label="Shoplifting suspect", actor=SYSTEM)
    log_in(page, base, two_tenants.b.investigator.email)
    page.goto(f"{base}/t/retailer-b/subjects/")
    notice = page.locator(".home-region-notice")
    expect(notice).to_contain_text("Pictures of unknown region are refused.")
    expect(notice).to_contain_text("your home country, FR")
    expect(notice).to_contain_text("CNIL order CNIL-2026-114 (regions BE, FR)")
    shoot(page, "61-gallery-home-region-notice")
    page.goto(f"{base}/t/retailer-b/subjects/{subject.public_id}/")
    expect(page.locator("#enrol-title + .home-region-notice")).to_be_visible()
    shoot(page, "62-enrol-home-region-notice")

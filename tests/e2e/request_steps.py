"""Steps the data subjects' request journeys share: the requester's public form, and an operator
signed in to the platform area in a browser of their own (a TOTP code is accepted once, so the
operator's session stays while tenants' users sign in and out in the other browser)."""

import re

from playwright.sync_api import expect

from portal.platform.models import SealedTOTPDevice
from tests.e2e.conftest import DESKTOP, log_in
from tests.factories import UserFactory, totp_token


def request_form_send(page, base: str, *, kind: str, picture, document, email: str = "person@example.test") -> None:
    """Fills in the public form at /opt-out/ as a requester does and sends it."""
    page.goto(f"{base}/opt-out/")
    page.get_by_label(kind).check()
    page.get_by_label("Your e-mail address").fill(email)
    page.get_by_label("A picture of your face").set_input_files(str(picture))
    page.get_by_label("A picture of your identity document").set_input_files(str(document))
    page.get_by_label(re.compile("I consent")).check()
    page.get_by_role("button", name="Send my request").click()


def operator_page(chromium, base: str):
    """A new browser with an operator signed in, two-factor verified, on the platform area."""
    page = chromium.new_context(viewport=DESKTOP).new_page()
    operator = UserFactory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    log_in(page, base, operator.email)
    page.goto(f"{base}/platform/2fa/verify/")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(totp_token(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/platform/$"))
    expect(page.get_by_role("navigation", name="Platform")).to_be_visible()
    return page

"""The Content-Security-Policy in a real browser: every kind of page works under it and the browser
reports no violation; and markup injected into a page cannot run a script."""

import pytest
from portal.platform.models import SealedTOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _violations(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    return messages


def test_portal_platform_and_api_docs_work_under_the_policy(live_server, browser_page, two_tenants):
    page, base = browser_page, live_server.url
    violations = _violations(page)

    response = page.goto(f"{base}/api/v1/docs/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("Face search portal API")
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((base, "data:", "blob:")) else None)
    page.goto(f"{base}/api/v1/redoc/")
    expect(page.locator("redoc h1").first).to_contain_text("Face search portal API")
    # Redoc's footer logo comes from the portal itself: nothing is asked of any other host, and the
    # policy has nothing to refuse.
    expect(page.locator("img[alt='redocly logo']")).to_have_attribute("src", "/static/favicon.svg")
    page.wait_for_timeout(500)
    assert outside == [] and violations == []
    violations.clear()

    log_in(page, base, two_tenants.a.investigator.email)
    page.goto(f"{base}/t/agency-a/search/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto(f"{base}/t/agency-a/searches/")

    operator = UserFactory(is_staff=True)
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page.context.clear_cookies()
    log_in(page, base, operator.email)
    page.goto(f"{base}/platform/2fa/verify/")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(totp_token(device))
    page.get_by_role("button", name="Verify").click()
    page.goto(f"{base}/platform/orders/")
    # The status filter applies itself through portal.js (it had an inline onchange before).
    with page.expect_navigation():
        page.locator("#status").select_option("draft")
    assert page.url.endswith("status=draft")
    assert violations == []


def test_an_injected_inline_script_does_not_run(live_server, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    violations = _violations(page)
    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = true';
        document.body.appendChild(script);
        const img = document.createElement('div');
        img.innerHTML = '<img src=x onerror="window.injected = true">';
        document.body.appendChild(img);
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.injected === undefined")
    assert violations

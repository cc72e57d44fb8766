"""The yearly reports in a real browser: an auditor reaches the tenant's report from the
compliance page, changes the year with the keyboard alone and downloads the CSV; an operator opens the
platform's. No Content-Security-Policy violation; screenshots at 1280 and 390 px."""

import pytest
from playwright.sync_api import expect

from portal.platform.models import SealedTOTPDevice
from tests.e2e.conftest import log_in, shoot
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _violations(page) -> list[str]:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    return messages


def test_an_auditor_reads_the_year_and_an_operator_reads_every_tenants(live_server, browser_page, yearly_world):
    page, base = browser_page, live_server.url
    violations = _violations(page)
    log_in(page, base, yearly_world.two_tenants.a.auditor.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    page.get_by_role("link", name="Yearly report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Yearly report")

    # The keyboard alone: the link to the year before, then the year chooser and its button.
    page.get_by_role("link", name="← 2025").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reports/yearly/?year=2025")
    expect(page.get_by_role("heading", level=1)).to_have_text("Yearly report 2025")
    year = page.get_by_label("Year", exact=True)
    expect(year).to_have_value("2025")
    year.focus()
    page.keyboard.type("2026")  # a select's type-ahead
    expect(year).to_have_value("2026")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Show")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**/reports/yearly/?year=2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("Yearly report 2026")
    expect(page.locator(".stats li").first).to_contain_text("6")
    expect(page.get_by_role("img", name="Searches per month in 2026")).to_be_visible()
    shoot(page, "report-01-tenant-yearly-report")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "yearly-report-agency-a-2026.csv"
    assert "2026,agency-a,matches,confirmed,1" in open(download.value.path()).read()

    page.goto(f"{base}/t/agency-a/reports/yearly/?year=1999")
    expect(page.get_by_role("alert")).to_contain_text("The year must be from 2000 to")

    operator = UserFactory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page.context.clear_cookies()
    log_in(page, base, operator.email)
    page.goto(f"{base}/platform/reports/yearly/?year=2026")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(totp_token(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/platform/reports/yearly/?year=2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("Yearly report 2026, all tenants")
    expect(page.locator(".report-tenants tfoot")).to_contain_text("All tenants")
    shoot(page, "report-02-platform-yearly-report")
    assert violations == []

"""Accounts in a real browser: a printed password changed at first log-in; an invitation read
from a real SMTP server and accepted; two-factor set up, then log-in with a code and with a
backup code; an owner sees a locked-out member and unlocks them. Screenshots go to screenshots/."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from portal.platform.models import SealedTOTPDevice
from tenants.services import member_add
from tests.e2e.conftest import DESKTOP, log_in, shoot
from tests.web.test_account_two_factor import code_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "my own passphrase for spring 7"


def _new_page(chromium):
    page = chromium.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(30_000)
    return page


def test_a_printed_password_must_be_changed_at_first_log_in(live_server, browser_page, two_tenants):
    page, base = browser_page, live_server.url
    _membership, one_time = member_add(tenant=two_tenants.b.tenant, email="printed@example.test", role="investigator")
    log_in(page, base, "printed@example.test", one_time)
    expect(page).to_have_url(re.compile(r"/accounts/password_change/"))
    expect(page.get_by_role("alert").or_(page.locator(".alert.warning"))).to_contain_text(
        "given to you by someone else")
    page.goto(f"{base}/t/retailer-b/search/")  # any other page leads back
    expect(page).to_have_url(re.compile(r"/accounts/password_change/\?next="))
    shoot(page, "accounts-01-password-change-forced")
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(PASSPHRASE)
    page.get_by_label("New password again").fill(PASSPHRASE)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password changed")
    page.goto(f"{base}/t/retailer-b/")
    expect(page).to_have_url(re.compile(r"/t/retailer-b/$"))
    page.get_by_role("button", name="Log out").click()
    log_in(page, base, "printed@example.test", one_time)
    expect(page.get_by_role("alert")).to_contain_text("did not match")


def test_an_invitation_by_email_end_to_end(live_server, browser_page, chromium, two_tenants, smtp_server):
    page, base = browser_page, live_server.url
    log_in(page, base, two_tenants.b.owner.email)
    page.goto(f"{base}/t/retailer-b/admin/members/")
    page.get_by_label("E-mail").fill("invited@example.test")
    page.get_by_label("Role", exact=True).select_option("auditor")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("invited@example.test")
    message = smtp_server.wait_for(1)[0]
    assert message.envelope_to == ["invited@example.test"]
    link = message.link(r"https?://\S+/invitations/\S+/")
    assert link.startswith(base)

    invitee = _new_page(chromium)
    invitee.goto(link)
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Join Retailer B")
    shoot(invitee, "accounts-02-invitation")
    invitee.get_by_label("Your name").fill("Ivy Invited")
    invitee.get_by_label("Choose a password").fill(PASSPHRASE)
    invitee.get_by_label("The password again").fill(PASSPHRASE)
    invitee.get_by_role("button", name="Make my account and join").click()
    expect(invitee).to_have_url(re.compile(r"/t/retailer-b/$"))
    invitee.get_by_role("button", name="Log out").click()
    invitee.goto(link)  # used: refused, in words
    expect(invitee.get_by_role("heading", level=1)).to_have_text("This invitation cannot be used")
    expect(invitee.get_by_role("alert")).to_contain_text("used, revoked or has expired")
    shoot(invitee, "accounts-03-invitation-used")
    invitee.context.close()


@pytest.mark.two_factor_enforced
def test_two_factor_set_up_then_log_in_with_a_code_and_with_a_backup_code(live_server, browser_page, chromium,
                                                                          two_tenants):
    page, base = browser_page, live_server.url
    user = two_tenants.a.investigator  # law enforcement: required
    log_in(page, base, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    expect(page.locator("figure.qr svg")).to_be_visible()
    shoot(page, "accounts-04-two-factor-set-up")
    device = SealedTOTPDevice.objects.get(user=user, confirmed=False)
    page.get_by_label("6-digit code from your authenticator app").fill(code_for(device))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("ol.backup-codes li")).to_have_count(10)
    codes = page.locator("ol.backup-codes code").all_inner_texts()
    shoot(page, "accounts-05-backup-codes")
    page.get_by_role("link", name="I have stored them: go on").click()
    page.get_by_role("button", name="Log out").click()

    log_in(page, base, user.email)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/verify/"))
    shoot(page, "accounts-06-two-factor-verify")
    page.get_by_label("Code from your authenticator app, or a backup code").fill(code_for(device, steps_ahead=1))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/t/agency-a/$"))

    lost_phone = _new_page(chromium)
    log_in(lost_phone, base, user.email)
    lost_phone.get_by_label("Code from your authenticator app, or a backup code").fill(codes[0])
    lost_phone.get_by_role("button", name="Continue").click()
    expect(lost_phone).to_have_url(re.compile(r"/t/agency-a/$"))
    lost_phone.context.close()

    page.get_by_role("link", name="Account", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.get_by_text("this device")).to_have_count(1)
    expect(page.get_by_text("9 unused backup codes")).to_be_visible()
    shoot(page, "accounts-07-account-page")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Sign out of all other browsers").click()
    expect(page.locator("table tbody tr")).to_have_count(1)


def test_an_owner_sees_a_locked_member_and_unlocks_them(live_server, browser_page, chromium, two_tenants):
    page, base = browser_page, live_server.url
    member = two_tenants.b.investigator
    intruder = _new_page(chromium)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(intruder, base, member.email, "a wrong guess")
    log_in(intruder, base, member.email)
    expect(intruder.get_by_role("heading", level=1)).to_have_text("Too many failed log-ins")
    shoot(intruder, "accounts-08-locked-out")

    log_in(page, base, two_tenants.b.owner.email)
    page.goto(f"{base}/t/retailer-b/admin/members/")
    expect(page.get_by_text("locked out since")).to_have_count(1)
    shoot(page, "accounts-09-members-locked")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Unlock {member.email}").click()
    expect(page.get_by_role("status")).to_contain_text(f"{member.email} may log in again")
    expect(page.get_by_text("locked out since")).to_have_count(0)

    log_in(intruder, base, member.email)
    expect(intruder).to_have_url(re.compile(r"/t/retailer-b/$"))
    intruder.context.close()

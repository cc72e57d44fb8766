"""Operators cannot be locked out: one-time backup codes, shown once at enrolment, each usable
once, in place of the authenticator app's code; issuing and using them is audited."""

import re

import pytest
from portal.platform.models import SealedTOTPDevice

from portal.audit.models import AuditEvent
from tenants.context import dangerously_unscoped
from tests.factories import enrolment_code_for, totp_token

pytestmark = pytest.mark.django_db


def _codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())


def _audited(action: str) -> list[AuditEvent]:
    with dangerously_unscoped(reason="test"):
        return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_enrolment_shows_ten_codes_once_and_each_opens_one_session(client, user_factory, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    operator = user_factory(is_staff=True)
    client.force_login(operator)
    client.post("/platform/2fa/enrol/", {"enrolment_code": enrolment_code_for(operator)})
    client.get("/platform/2fa/enrol/")
    device = SealedTOTPDevice.objects.get(user=operator, confirmed=False)
    shown = client.post("/platform/2fa/enrol/", {"token": totp_token(device)})
    codes = _codes(shown)
    assert shown.status_code == 200 and len(codes) == 10 == len(set(codes))
    assert "no-store" in shown["Cache-Control"]
    assert "unused backup codes" in client.get("/platform/2fa/backup-codes/").content.decode()
    assert not _codes(client.get("/platform/2fa/backup-codes/"))  # never shown again

    # The phone is lost: a new session opens with a backup code, typed as people do.
    client.logout()
    client.force_login(operator)
    opened = client.post("/platform/2fa/verify/", {"token": f" {codes[0][:4].upper()} {codes[0][4:]} ",
                                                   "next": "/platform/orders/"})
    assert opened.status_code == 302 and opened["Location"] == "/platform/orders/"
    assert client.get("/platform/orders/").status_code == 200
    used = _audited("auth.2fa_backup_code_used")
    assert len(used) == 1 and used[0].details == {"codes_left": 9}

    # The same code never works twice.
    client.logout()
    client.force_login(operator)
    assert client.post("/platform/2fa/verify/", {"token": codes[0]}).status_code == 200
    assert client.get("/platform/orders/").status_code == 302
    assert client.post("/platform/2fa/verify/", {"token": codes[1]}).status_code == 302
    assert len(_audited("auth.2fa_backup_code_used")) == 2 and _audited("auth.2fa_failed")


def test_issuing_new_codes_retires_the_old_ones(client, user_factory, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    operator = user_factory(is_staff=True)
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    client.post("/platform/2fa/verify/", {"token": totp_token(device)})
    first = _codes(client.post("/platform/2fa/backup-codes/"))
    second = _codes(client.post("/platform/2fa/backup-codes/"))
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    assert len(_audited("auth.2fa_backup_codes_issue")) == 2
    client.logout()
    client.force_login(operator)
    assert client.post("/platform/2fa/verify/", {"token": first[0]}).status_code == 200
    assert client.post("/platform/2fa/verify/", {"token": second[0]}).status_code == 302


def test_backup_codes_page_is_staff_only(client, two_tenants):
    assert client.get("/platform/2fa/backup-codes/")["Location"].startswith("/accounts/login/")
    assert client.post("/platform/2fa/backup-codes/").status_code == 404
    client.force_login(two_tenants.a.owner)
    assert client.post("/platform/2fa/backup-codes/").status_code in (403, 404)

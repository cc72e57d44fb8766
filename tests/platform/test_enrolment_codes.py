"""A staff account's first two-factor set-up needs a one-time enrolment code from another
operator (or the management command): a stolen password alone cannot enrol the thief's phone."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from portal.platform.models import SealedTOTPDevice

from portal.audit.models import AuditEvent
from portal.platform.models import StaffEnrolmentCode
from tenants.context import dangerously_unscoped
from tests.factories import enrolment_code_for, totp_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(user_factory):
    return user_factory(is_staff=True, email="new.operator@portal.test")


def _enrol(client, user, code) -> int:
    client.force_login(user)
    return client.post("/platform/2fa/enrol/", {"enrolment_code": code}).status_code


def test_without_a_code_no_device_is_made_and_no_qr_shown(client, newcomer):
    client.force_login(newcomer)
    page = client.get("/platform/2fa/enrol/").content.decode()
    assert "Enrolment code" in page and "otpauth://" not in page and "<svg" not in page
    assert client.post("/platform/2fa/enrol/", {"token": "123456"}).status_code == 200
    assert not SealedTOTPDevice.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("case", ["wrong", "another_users", "expired", "used", "replaced"])
def test_a_code_that_is_not_this_users_current_one_is_refused(client, newcomer, user_factory, case):
    code = enrolment_code_for(newcomer)
    if case == "wrong":
        code = "AAAA-BBBB-CCCC-DDDD"
    elif case == "another_users":
        code = enrolment_code_for(user_factory(is_staff=True))
    elif case == "expired":
        StaffEnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    elif case == "used":
        StaffEnrolmentCode.objects.update(used_at=timezone.now())
    elif case == "replaced":
        enrolment_code_for(newcomer)  # a newer code: the first stops working
    assert _enrol(client, newcomer, code) == 200
    assert "otpauth://" not in client.get("/platform/2fa/enrol/").content.decode()
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="auth.2fa_enrolment_code_failed").count() == 1


def test_the_code_from_another_operator_opens_enrolment_once(client, newcomer, user_factory):
    colleague = user_factory(is_staff=True)
    device = SealedTOTPDevice.objects.create(user=colleague, name="platform", confirmed=True)
    client.force_login(colleague)
    client.post("/platform/2fa/verify/", {"token": totp_token(device)})
    page = client.post("/platform/operators/", {"user_id": newcomer.pk})
    assert "no-store" in page["Cache-Control"]
    code = page.content.decode().split('data-copy>')[1].split("<")[0]
    assert StaffEnrolmentCode.objects.get(user=newcomer).issued_by == colleague
    # The colleague cannot be given a code: they are enrolled already.
    refused = client.post("/platform/operators/", {"user_id": colleague.pk})
    assert refused.status_code == 302 and not StaffEnrolmentCode.objects.filter(user=colleague).exists()
    client.logout()

    assert _enrol(client, newcomer, code.lower().replace("-", " ")) == 302  # typed loosely
    page = client.get("/platform/2fa/enrol/").content.decode()
    assert "otpauth://" in page
    new_device = SealedTOTPDevice.objects.get(user=newcomer, confirmed=False)
    assert client.post("/platform/2fa/enrol/", {"token": totp_token(new_device)}).status_code == 200
    assert StaffEnrolmentCode.objects.get(user=newcomer).used_at is not None
    with dangerously_unscoped(reason="test"):
        enrolled = AuditEvent.objects.get(action="auth.2fa_enrol")
        issued = AuditEvent.objects.get(action="auth.2fa_enrolment_code_issue")
    assert enrolled.details["enrolment_code_id"] == issued.details["code_id"]
    assert issued.actor_user_id == colleague.pk


def test_the_management_command_prints_a_code_for_the_first_operator(newcomer, capsys):
    call_command("platform_enrolment_code", newcomer.email)
    printed = capsys.readouterr().out
    assert newcomer.email in printed and StaffEnrolmentCode.objects.filter(user=newcomer).count() == 1


def test_a_code_planted_by_sql_does_not_enrol(client, newcomer):
    """Codes are kept as keyed hashes: SQL run as the application can add a row, but not one for
    a code it knows (a plain SHA-256 of it, as codes were once kept, is refused)."""
    import hashlib

    from django.db import connection

    code = "ABCD-EFGH-IJKL-MNOP"
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO platform_staffenrolmentcode (user_id, code_hash, created_at, expires_at)"
                       " VALUES (%s, %s, now(), now() + interval '1 day')",
                       [newcomer.pk, hashlib.sha256(code.replace("-", "").encode()).hexdigest()])
    assert _enrol(client, newcomer, code) == 200  # the form again: refused
    assert "otpauth://" not in client.get("/platform/2fa/enrol/").content.decode()
    assert not SealedTOTPDevice.objects.filter(user=newcomer).exists()

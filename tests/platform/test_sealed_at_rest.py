"""Secrets and personal data sealed at rest: what the application's database role can read or
write in django-otp's table does not give, move or replace a second factor, and opt-out
requesters' names and contacts are ciphertext to it."""

import pytest
from django.db import connection

from portal.platform.models import SealedTOTPDevice
from portal.sealing import PREFIX
from tenants.context import dangerously_unscoped
from tenants.services import operator_create
from tests.factories import totp_token

pytestmark = pytest.mark.django_db

KNOWN_HEX = "3132333435363738393031323334353637383930"  # the RFC 6238 test secret


def _operator(email):
    return operator_create(email=email, password="a long operator passphrase")[0]


def _stored_key(device) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_the_secret_is_stored_sealed_and_codes_still_verify():
    operator = _operator("sealed@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    stored = _stored_key(device)
    assert stored.startswith(PREFIX) and len(stored) <= 80
    assert len(device.bin_key) == 20 and device.bin_key.hex() not in stored
    assert SealedTOTPDevice.objects.get(pk=device.pk).verify_token(totp_token(device))


def test_a_secret_written_in_clear_by_sql_never_verifies():
    operator = _operator("clear@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    with connection.cursor() as cursor:  # what an injection as the application could write
        cursor.execute("UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s", [KNOWN_HEX, device.pk])
    forged = SealedTOTPDevice.objects.get(pk=device.pk)
    from django_otp.oath import TOTP

    code = str(TOTP(bytes.fromhex(KNOWN_HEX), forged.step, forged.t0, forged.digits).token()).zfill(6)
    assert not forged.verify_token(code)


def test_a_sealed_secret_moved_to_another_operator_never_verifies():
    victim, attacker = _operator("victim@portal.test"), _operator("attacker@portal.test")
    own = SealedTOTPDevice.objects.create(user=attacker, name="platform", confirmed=True)
    target = SealedTOTPDevice.objects.create(user=victim, name="platform", confirmed=True)
    code = totp_token(own)
    with connection.cursor() as cursor:  # the attacker's own sealed secret onto the victim's device
        cursor.execute("UPDATE otp_totp_totpdevice SET key = %s WHERE id = %s", [_stored_key(own), target.pk])
    assert not SealedTOTPDevice.objects.get(pk=target.pk).verify_token(code)


def test_backup_codes_are_kept_only_as_keyed_hashes():
    from django_otp.plugins.otp_static.models import StaticToken

    from portal.audit.services import Actor
    from portal.platform.two_factor import backup_codes_issue

    operator = _operator("backup@portal.test")
    codes = backup_codes_issue(user=operator, actor=Actor.system("test"))
    stored = set(StaticToken.objects.filter(device__user=operator).values_list("token", flat=True))
    assert len(stored) == len(codes) and not stored & set(codes)
    assert all(len(token) == 16 for token in stored)


def test_opt_out_requesters_identity_is_sealed_at_rest(faces_dir):
    """The portal reads the name and contact; SQL run as the application reads only ciphertext."""
    from portal.audit.services import Actor
    from portal.compliance.models import OptOut
    from portal.compliance.opt_outs import opt_out_create

    opt_out = opt_out_create(pictures=[(faces_dir / "obama_1.jpg").read_bytes()], contact="jane@example.org",
                             consent=True, channel=OptOut.Channel.PUBLIC_FORM, actor=Actor.system("test"),
                             full_name="Jane Doe", region="FR")
    with connection.cursor() as cursor:
        cursor.execute("SELECT full_name, contact FROM compliance_optout WHERE id = %s", [opt_out.pk])
        stored = cursor.fetchone()
    assert all(value.startswith(PREFIX) for value in stored)
    assert "jane" not in "".join(stored).lower()
    reread = OptOut.objects.get(pk=opt_out.pk)
    assert (reread.full_name, reread.contact) == ("Jane Doe", "jane@example.org")
    # A "sealed" value that was not sealed with this key (the table owner's edit, say) does not
    # open. (The application's role cannot write this table at all: compliance/0009.)
    with dangerously_unscoped(reason="test: an edited value"), connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_optout SET contact = %s WHERE id = %s", [PREFIX + "A" * 60, opt_out.pk])
    assert OptOut.objects.get(pk=opt_out.pk).contact == ""

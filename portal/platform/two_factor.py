"""Two-factor log-in for the platform area (django-otp). A staff user enrols one TOTP device
(shown as an otpauth URI and a server-rendered SVG QR code), then verifies a code each session.

The first enrolment needs a one-time enrolment code, issued by another operator in the console
or by `manage.py platform_enrolment_code` (valid ENROLMENT_CODE_HOURS, one at a time per user),
so that someone who learns a new operator's password cannot enrol their own phone.

So that an operator who loses the phone is not locked out of enforcing orders, enrolment also
issues one-time backup codes (django-otp's static-token device, chosen over hand-written codes so
that django-otp's verification, throttling and session login apply to them too). They are shown
once; each works once; using one, and issuing new ones, is audited."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
import secrets
from base64 import b32encode
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.platform.models import SealedTOTPDevice, StaffEnrolmentCode
from portal.platform.sealing import backup_code_digest
from portal.sealing import keyed_digest
from django.utils.translation import gettext as _

DEVICE_NAME = "platform"
BACKUP_DEVICE_NAME = "backup"
BACKUP_CODES = 10
ENROLMENT_CODE_HOURS = 72
SESSION_ENROLMENT_CODE = "platform_enrolment_code_id"


class EnrolmentRefused(DomainError):
    """An enrolment code cannot be issued for this account (not staff, or already enrolled)."""

    code = "enrolment_refused"
    status = 409


def _code_hash(code: str) -> str:
    """A keyed hash (portal.sealing): SQL run as the application cannot make a row for a code it
    knows, so it cannot hand itself an enrolment."""
    return keyed_digest("".join(ch for ch in code.upper() if ch.isalnum()), purpose="platform.enrolment_code")


def enrolment_code_issue(*, user, actor: Actor, issued_by=None) -> str:
    """A one-time code for the user's first two-factor set-up; earlier unused ones stop working.
    Returns it to be handed over once: four groups of four letters and digits, e.g. ABCD-2345-EFGH-6789."""
    if not (user.is_staff and user.is_active):
        raise EnrolmentRefused(_("%(email)s is not an active platform operator.") % {"email": user.email}, field="user")
    if totp_confirmed(user=user):
        raise EnrolmentRefused(_("%(email)s already has a two-factor device.") % {"email": user.email}, field="user")
    raw = b32encode(secrets.token_bytes(10)).decode()  # 80 bits, 16 characters
    code = "-".join(raw[i:i + 4] for i in range(0, 16, 4))
    with transaction.atomic():
        StaffEnrolmentCode.objects.filter(user=user, used_at__isnull=True).delete()
        issued = StaffEnrolmentCode.objects.create(
            user=user, code_hash=_code_hash(code), issued_by=issued_by,
            expires_at=timezone.now() + timedelta(hours=ENROLMENT_CODE_HOURS))
        audit_record(action="auth.2fa_enrolment_code_issue", actor=actor, target_type="user", target_id=user.pk,
                     details={"code_id": issued.pk, "hours": ENROLMENT_CODE_HOURS})
    return code


def enrolment_code_accept(*, request, code: str) -> bool:
    """Checks the code for the signed-in user and remembers it in the session until the device is
    confirmed (which uses it up)."""
    found = StaffEnrolmentCode.objects.filter(user=request.user, code_hash=_code_hash(code), used_at__isnull=True,
                                              expires_at__gt=timezone.now()).first()
    actor = Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))
    if found is None:
        audit_record(action="auth.2fa_enrolment_code_failed", actor=actor, target_type="user",
                     target_id=request.user.pk)
        return False
    request.session[SESSION_ENROLMENT_CODE] = found.pk
    return True


def enrolment_code_pending(*, request) -> StaffEnrolmentCode | None:
    code_id = request.session.get(SESSION_ENROLMENT_CODE)
    if code_id is None:
        return None
    return StaffEnrolmentCode.objects.filter(pk=code_id, user=request.user, used_at__isnull=True,
                                             expires_at__gt=timezone.now()).first()


def totp_confirmed(*, user) -> bool:
    return SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_pending(*, user) -> SealedTOTPDevice:
    """The user's unconfirmed device, made on first call (its secret stays until confirmed)."""
    device = SealedTOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).first()
    return device or SealedTOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def qr_svg(*, data: str) -> SafeString:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    # The SVG is made here from the URI alone; no user-supplied markup enters it.
    return mark_safe(image.to_string(encoding="unicode"))


def _token_clean(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())


def totp_enrol_confirm(*, request, device: SealedTOTPDevice, token: str) -> bool:
    """Confirms the device with a code from it, using up the session's enrolment code."""
    enrolment = enrolment_code_pending(request=request)
    if enrolment is None or device.user_id != request.user.pk or not device.verify_token(_token_clean(token)):
        return False
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaffEnrolmentCode.objects.filter(pk=enrolment.pk).update(used_at=timezone.now())
        audit_record(action="auth.2fa_enrol", target_type="user", target_id=request.user.pk,
                     actor=Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR")),
                     details={"enrolment_code_id": enrolment.pk})
    request.session.pop(SESSION_ENROLMENT_CODE, None)
    otp_login(request, device)
    return True


def backup_codes_issue(*, user, actor: Actor) -> list[str]:
    """New one-time backup codes for the user, replacing any not yet used. Returns them: they are
    shown once; django-otp's table keeps only their keyed hashes."""
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=backup_code_digest(code)) for code in codes)
        audit_record(action="auth.2fa_backup_codes_issue", actor=actor, target_type="user", target_id=user.pk,
                     details={"codes": len(codes)})
    return codes


def backup_codes_left(*, user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def two_factor_verify(*, request, token: str) -> bool:
    """Opens the platform area for this session with a code from the authenticator app (6 digits)
    or one of the backup codes (used up by this)."""
    actor = Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))
    digits = _token_clean(token)
    if len(digits) == 6 and digits == token.strip().replace(" ", ""):
        for device in SealedTOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(digits):
                otp_login(request, device)
                audit_record(action="auth.2fa_verify", actor=actor, target_type="user", target_id=request.user.pk)
                return True
    code = "".join(ch for ch in token.lower() if ch.isalnum())
    for device in StaticDevice.objects.filter(user=request.user, confirmed=True):
        if code and device.verify_token(backup_code_digest(code)):
            otp_login(request, device)
            audit_record(action="auth.2fa_backup_code_used", actor=actor, target_type="user",
                         target_id=request.user.pk, details={"codes_left": backup_codes_left(user=request.user)})
            return True
    audit_record(action="auth.2fa_failed", actor=actor, target_type="user", target_id=request.user.pk)
    return False

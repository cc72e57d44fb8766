"""Two-factor log-in for the platform area (django-otp). A staff user enrols one TOTP device
(shown as an otpauth URI and a server-rendered SVG QR code), then verifies a code each session.

So that an operator who loses the phone is not locked out of enforcing orders, enrolment also
issues one-time backup codes (django-otp's static-token device, chosen over hand-written codes so
that django-otp's verification, throttling and session login apply to them too). They are shown
once; each works once; using one, and issuing new ones, is audited."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.db import transaction
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.audit.services import Actor, audit_record

DEVICE_NAME = "platform"
BACKUP_DEVICE_NAME = "backup"
BACKUP_CODES = 10


def totp_confirmed(*, user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_device_pending(*, user) -> TOTPDevice:
    """The user's unconfirmed device, made on first call (its secret stays until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def qr_svg(*, data: str) -> SafeString:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    # The SVG is made here from the URI alone; no user-supplied markup enters it.
    return mark_safe(image.to_string(encoding="unicode"))


def _token_clean(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())


def totp_enrol_confirm(*, request, device: TOTPDevice, token: str) -> bool:
    if device.user_id != request.user.pk or not device.verify_token(_token_clean(token)):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    otp_login(request, device)
    audit_record(action="auth.2fa_enrol", actor=Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR")),
                 target_type="user", target_id=request.user.pk)
    return True


def backup_codes_issue(*, user, actor: Actor) -> list[str]:
    """New one-time backup codes for the user, replacing any not yet used. Returns them: they are
    shown once and kept only in django-otp's table."""
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
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
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(digits):
                otp_login(request, device)
                audit_record(action="auth.2fa_verify", actor=actor, target_type="user", target_id=request.user.pk)
                return True
    code = "".join(ch for ch in token.lower() if ch.isalnum())
    for device in StaticDevice.objects.filter(user=request.user, confirmed=True):
        if code and device.verify_token(code):
            otp_login(request, device)
            audit_record(action="auth.2fa_backup_code_used", actor=actor, target_type="user",
                         target_id=request.user.pk, details={"codes_left": backup_codes_left(user=request.user)})
            return True
    audit_record(action="auth.2fa_failed", actor=actor, target_type="user", target_id=request.user.pk)
    return False

"""TOTP two-factor log-in for the platform area (django-otp). A staff user enrols one device
(shown as an otpauth URI and a server-rendered SVG QR code), then verifies a token each session."""

from __future__ import annotations

import qrcode
import qrcode.image.svg
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.compliance.audit import Actor, audit_record

DEVICE_NAME = "platform"


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


def totp_verify(*, request, token: str) -> bool:
    actor = Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))
    for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
        if device.verify_token(_token_clean(token)):
            otp_login(request, device)
            audit_record(action="auth.2fa_verify", actor=actor, target_type="user", target_id=request.user.pk)
            return True
    audit_record(action="auth.2fa_failed", actor=actor, target_type="user", target_id=request.user.pk)
    return False

"""Two-factor log-in for members of tenants: the platform area's components (a sealed TOTP device
shown as a QR code, ten one-time backup codes, django-otp's verification and throttling; see
portal/platform/two_factor.py), without the platform's enrolment code. The customer portal's
pages sit above the platform layer, so they use those components where they are.

Who must use it: a member of any tenant that requires it (its owner's setting), and every member
of a law-enforcement tenant, whatever the setting says. One person, one rule: a member of two
tenants of which one requires it uses it for both, since a session spans the person's tenants."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.platform.models import SealedTOTPDevice
from portal.platform.two_factor import (backup_codes_issue, backup_codes_left, qr_svg, totp_confirmed,
                                        totp_device_pending, two_factor_verify)
from tenants.models import Membership

__all__ = ["backup_codes_left", "qr_svg", "totp_confirmed", "totp_device_pending", "two_factor_verify",
           "two_factor_required_for", "two_factor_enrol", "two_factor_remove", "TwoFactorRefused"]


class TwoFactorRefused(DomainError):
    code = "two_factor_refused"
    status = 409


def two_factor_required_for(*, user) -> bool:
    """Needs the signed-in user's id in scope (RLS admits a user's own memberships by it)."""
    if user.is_staff:
        return False  # operators: the platform area demands it on its own terms
    if not settings.TWO_FACTOR_REQUIREMENT_ENFORCED:
        return False
    return any(m.tenant.two_factor_mandatory for m in Membership.of_user.for_user(user))


def _digits(token: str) -> str:
    return "".join(ch for ch in token if ch.isdigit())


def two_factor_enrol(*, request, device: SealedTOTPDevice, token: str) -> list[str] | None:
    """Confirms the pending device with a code from it and opens this session with it. Returns
    the new backup codes (to be shown once), or None when the code is wrong."""
    user = request.user
    if device.user_id != user.pk or device.confirmed or not device.verify_token(_digits(token)):
        return None
    actor = Actor.of_user(user, ip_address=request.META.get("REMOTE_ADDR"))
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action="auth.2fa_enrol", actor=actor, target_type="user", target_id=user.pk)
        codes = backup_codes_issue(user=user, actor=actor)
    otp_login(request, device)
    return codes


def two_factor_remove(*, request, token: str) -> None:
    """Removes the user's two-factor devices, on a current code (or a backup code): not where a
    tenant of theirs requires it."""
    user = request.user
    if two_factor_required_for(user=user):
        raise TwoFactorRefused(_("A tenant you belong to requires two-factor log-in; it cannot be removed."))
    if not two_factor_verify(request=request, token=token):
        raise TwoFactorRefused(_("That code is not right. Enter a current code from your app, or a backup code."),
                               field="token", status=400)
    with transaction.atomic():
        SealedTOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record(action="auth.2fa_remove", actor=Actor.of_user(user, ip_address=request.META.get("REMOTE_ADDR")),
                     target_type="user", target_id=user.pk)

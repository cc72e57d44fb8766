from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.platform.sealing import SealBroken, is_sealed, seal, unseal
from django.utils.translation import gettext_lazy as _


class PlatformScope(models.TextChoices):
    ORDERS_READ = "orders:read", _("Read regulatory orders, previews, progress and certificates")
    ORDERS_WRITE = "orders:write", _("File and activate regulatory orders")


def _all_scopes() -> list[str]:
    return list(PlatformScope.values)


class StaffApiToken(models.Model):
    """A platform operator's key for the platform API (compliance tooling). Only a hash is kept,
    in `portal_secret` (portal.api.secrets). The table keeps the name it had in the compliance app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    scopes = ArrayField(models.CharField(max_length=32, choices=PlatformScope.choices), default=_all_scopes)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "compliance_staffapitoken"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class StaffEnrolmentCode(models.Model):
    """A one-time code that lets a staff account set up its first two-factor device. Issued by
    another operator in the console or by `manage.py platform_enrolment_code`; without one, a
    stolen password is not enough to enrol the attacker's phone. Only a hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class SealedTOTPDevice(TOTPDevice):
    """django-otp's TOTP device, with its secret sealed at rest (portal.platform.sealing). The
    portal uses only this class; a device whose stored secret does not open never verifies."""

    class Meta:
        proxy = True

    @property
    def bin_key(self) -> bytes:
        return unseal(value=self.key, user_id=self.user_id)  # raises SealBroken

    def verify_token(self, token) -> bool:
        try:
            unseal(value=self.key, user_id=self.user_id)
        except SealBroken:
            return False  # a secret written in clear, or moved from another user's device
        return super().verify_token(token)

    def save(self, *args, **kwargs):
        if not is_sealed(self.key):
            self.key = seal(hex_key=self.key, user_id=self.user_id)
        super().save(*args, **kwargs)

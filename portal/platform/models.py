from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class PlatformScope(models.TextChoices):
    ORDERS_READ = "orders:read", "Read regulatory orders, previews, progress and certificates"
    ORDERS_WRITE = "orders:write", "File and activate regulatory orders"


def _all_scopes() -> list[str]:
    return list(PlatformScope.values)


class StaffApiToken(models.Model):
    """A platform operator's key for the platform API (compliance tooling). Only a hash is kept.
    The table keeps the name it had in the compliance app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="platform_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
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

"""API keys, per-tenant API settings and stored idempotent responses.

ApiKey lives here rather than in tenants/ (where ARCHITECTURE.md first put it) so that the API
app owns its whole authentication story; see docs/api.md.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from tenants.managers import TenantScopedManager
from tenants.models import Tenant
from django.utils.translation import gettext_lazy as _


class ApiKeyScope(models.TextChoices):
    SEARCH = "search", _("Run searches and read their results")
    GALLERY_READ = "gallery:read", _("Read subjects and images")
    GALLERY_WRITE = "gallery:write", _("Create, enrol, change and delete subjects and images")
    AUDIT_READ = "audit:read", _("Read the tenant's audit log")
    REVIEW = "review", _("Give verdicts on matches, as the member who made the key")


class ApiKey(models.Model):
    """A tenant's system calling the API. The secret is shown once and stored only as a SHA-256
    hash: it is 256 random bits, so a fast hash cannot be brute-forced (unlike a password). The
    hash is not in this table but in `portal_secret`, which only database functions read
    (portal.api.secrets)."""

    # No index of its own: the (tenant, -created_at) index starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.CASCADE, related_name="api_keys")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text="How the object is named outside: URLs, API bodies, exports.")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown in lists to tell keys apart.")
    scopes = ArrayField(models.CharField(max_length=32, choices=ApiKeyScope.choices), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class TenantApiSettings(models.Model):
    """A tenant's own API limits, where they differ from settings.API_RATE_LIMIT_PER_*."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="api_settings")
    rate_limit_per_key = models.CharField(max_length=32, blank=True, default="",
                                          help_text='e.g. "60/minute"; empty uses the platform default.')
    rate_limit_per_tenant = models.CharField(max_length=32, blank=True, default="",
                                             help_text='e.g. "1000/hour"; empty uses the platform default.')

    objects = TenantScopedManager()

    class Meta:
        verbose_name_plural = "tenant API settings"


class IdempotencyRecord(models.Model):
    """The response to a POST sent with an Idempotency-Key, replayed to retries for 24 hours.

    A tenant's record (tenant set; its keys share one namespace per tenant) or an operator's on
    the platform API (tenant NULL, staff_user set; one namespace per operator). RLS shows the
    platform's records only to unscoped platform code."""

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and parsed body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], condition=models.Q(tenant__isnull=False),
                                    name="idempotency_unique_key_per_tenant"),
            models.UniqueConstraint(fields=["staff_user", "key"], condition=models.Q(tenant__isnull=True),
                                    name="idempotency_unique_key_per_operator"),
        ]

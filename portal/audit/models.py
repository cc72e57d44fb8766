"""The audit chain's tables. They kept the names they had when the chain lived in the compliance
app (compliance_auditevent, compliance_auditchainhead), so moving the code moved no data."""

from django.conf import settings
from django.db import models

from tenants.managers import TenantScopedManager
from tenants.models import Tenant


class AuditChainHead(models.Model):
    """The single row holding the audit chain's latest sequence number and hash. Every append locks
    it, so the chain has one order across all tenants (the table has no tenant, so no RLS)."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "compliance_auditchainhead"


class AuditEvent(models.Model):
    """Append-only and hash-chained: each row's hash covers its content and the previous row's hash.
    A database trigger refuses UPDATE and DELETE; `manage.py audit_verify` checks the chain."""

    seq = models.BigIntegerField(unique=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = TenantScopedManager()

    class Meta:
        db_table = "compliance_auditevent"
        ordering = ["-seq"]
        indexes = [models.Index(fields=["tenant", "-seq"], name="compliance__tenant__d759b0_idx")]

    def __str__(self):
        return f"#{self.seq} {self.action} by {self.actor_label}"

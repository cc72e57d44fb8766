"""The audit chain's tables. They kept the names they had when the chain lived in the compliance
app (compliance_auditevent, compliance_auditchainhead), so moving the code moved no data."""

from django.conf import settings
from django.db import models

from tenants.managers import TenantScopedManager
from tenants.models import Tenant


class AuditChainHead(models.Model):
    """The latest position and hash of one chain: a tenant's, or the platform's (chain_tenant
    NULL). Only `portal_audit_append()` reads or writes it, locking the one chain it appends to;
    the application's role has no privilege on it (portal_audit_heads() reads it for a scope)."""

    chain_tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    position = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "compliance_auditchainhead"
        constraints = [models.UniqueConstraint(fields=["chain_tenant"], nulls_distinct=False,
                                               name="audit_one_head_per_chain")]


class AuditEvent(models.Model):
    """Append-only and hash-chained, one chain per tenant plus the platform's: each row's hash
    covers its content and the previous row's hash in the same chain. Rows are written only by
    the database function `portal_audit_append()` (audit/0002), which computes the hash; a trigger
    refuses UPDATE and DELETE; `manage.py audit_verify` checks every chain.

    `position` numbers a chain's events 1, 2, 3… with no gaps: it is what a tenant sees. `seq` is
    the platform-wide order of writing, for the operator only: it would tell a tenant how much
    the others do."""

    seq = models.BigIntegerField(unique=True)
    position = models.BigIntegerField(default=0)
    # No index of its own: compliance__tenant__d759b0_idx (tenant, -seq) starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
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
        return f"#{self.position} {self.action} by {self.actor_label}"


class SigningKey(models.Model):
    """One of the operator's Ed25519 signing keys: its public half, published with its validity
    period at /.well-known/portal-signing-keys.json. The private half lives in a file
    (SIGNING_KEY_FILE), never in the database. Platform table: written only under the platform's
    claim (portal_platform_guard())."""

    key_id = models.CharField(max_length=16, unique=True)
    public_key = models.CharField(max_length=64)  # base64 of the raw 32 bytes
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["valid_from"]
        constraints = [models.UniqueConstraint(fields=["valid_until"], condition=models.Q(valid_until__isnull=True),
                                               nulls_distinct=False, name="audit_one_current_signing_key")]


class SignedAuditHeads(models.Model):
    """A signed statement of every audit chain's head at one moment (portal.audit.heads). The
    public file names the platform chain's head and a digest over every chain's (chain,
    position, hash); `heads` keeps that list, for the operator only, so the digest can be
    checked later. Platform table."""

    signed_at = models.DateTimeField(db_index=True)
    key_id = models.CharField(max_length=16)
    platform_position = models.BigIntegerField()
    platform_hash = models.CharField(max_length=64)
    digest = models.CharField(max_length=64)
    heads = models.JSONField(default=list)
    signed_file = models.TextField()

    class Meta:
        ordering = ["-signed_at"]

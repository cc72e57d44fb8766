import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from pgvector.django import VectorField

from portal.gallery.models import EMBEDDING_DIMENSIONS

from portal.sealing import SealedTextField
from tenants.managers import TenantScopedManager
from tenants.models import Tenant
from django.utils.translation import gettext_lazy as _


class RegulatoryOrder(models.Model):
    """An order the operator must obey across tenants: delete (and stop processing) what it covers.

    A platform table (no tenant): orders span tenants, so only platform code reads it. What an
    order covers is computed in SQL by portal/compliance/coverage.py, never stored row by row.
    """

    class Kind(models.TextChoices):
        REGIONAL = "regional", _("Regional (people in a country or subdivision)")
        SOURCE = "source", _("Source platform (pictures collected from domains)")
        SUBJECT = "subject", _("Subject erasure (pictures of one person)")
        OFFBOARDING = "offboarding", _("Tenant offboarding")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active (withheld, awaiting deletion)")
        EXECUTING = "executing", _("Executing (deleting)")
        COMPLETED = "completed", _("Completed (deleted, awaiting verification)")
        VERIFIED = "verified", _("Verified")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    authority = models.CharField(max_length=200, help_text=_("Who issued it, e.g. CNIL."))
    reference = models.CharField(max_length=100, unique=True, help_text=_("The authority's decision number."))
    description = models.TextField(blank=True)
    # What it covers, by kind.
    regions = ArrayField(models.CharField(max_length=6), default=list, blank=True)
    include_unknown_region = models.BooleanField(default=False)
    domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    match_threshold = models.FloatField(null=True, blank=True, help_text=_("Similarity from which a face is the subject."))
    offboard_tenant_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # Where it applies.
    scope_all = models.BooleanField(default=True, help_text=_("Every tenant and the platform index."))
    scope_tenant_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    scope_platform_index = models.BooleanField(default=True)

    received_on = models.DateField()
    effective_at = models.DateTimeField()
    deadline = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Progress: what was covered at activation and what enforcement has deleted so far.
    covered = models.JSONField(default=dict, blank=True)
    deleted = models.JSONField(default=dict, blank=True)
    verification = models.JSONField(null=True, blank=True)
    certificate = models.JSONField(null=True, blank=True)
    # The certificate as a signed file (portal.signatures), exactly as downloaded and verified.
    certificate_signed = models.TextField(blank=True)
    opt_out = models.OneToOneField("OptOut", null=True, blank=True, on_delete=models.SET_NULL, related_name="order")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    enforcement_started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    deadline_warned_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.authority} {self.reference}"

    @property
    def progress_percent(self) -> int:
        total = sum(self.covered.get(kind, 0) for kind in ("images", "probes"))
        done = sum(self.deleted.get(kind, 0) for kind in ("images", "probes"))
        if self.status in {self.Status.COMPLETED, self.Status.VERIFIED}:
            return 100
        return 100 if total == 0 else min(100, int(100 * done / total))


class OrderReferenceFace(models.Model):
    """A subject order's reference embedding. The reference picture itself is not kept."""

    order = models.ForeignKey(RegulatoryOrder, on_delete=models.CASCADE, related_name="reference_faces")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    picture_sha256 = models.CharField(max_length=64)


class OrderTenantProgress(models.Model):
    """Per gallery (a tenant, or the platform index when tenant is NULL): covered and deleted counts.
    Updated in the same transaction as each deletion batch, so a crash never double counts."""

    # No index of its own: order_progress_unique_gallery (order, tenant) starts with it (tests/core/test_redundant_indexes.py).
    order = models.ForeignKey(RegulatoryOrder, db_index=False, on_delete=models.CASCADE, related_name="tenant_progress")
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    covered = models.JSONField(default=dict)
    deleted = models.JSONField(default=dict)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "tenant"], name="order_progress_unique_gallery",
                                               nulls_distinct=False)]


class OrderFileDeletion(models.Model):
    """A file whose rows an enforcement batch deleted. Written in the batch's transaction and
    removed from storage after commit, so a crash between the two leaves a record to finish from;
    verification checks every one of them is gone."""

    # No index of its own: the (order, deleted_at) index starts with it (tests/core/test_redundant_indexes.py).
    order = models.ForeignKey(RegulatoryOrder, db_index=False, on_delete=models.CASCADE, related_name="file_deletions")
    path = models.CharField(max_length=300)
    kind = models.CharField(max_length=16)  # original, thumbnail, crop, probe
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["order", "deleted_at"])]


class OptOut(models.Model):
    """A person's request to be erased and never ingested again. Their suppression embeddings are
    kept, with their consent, so that future pictures of them are refused and filtered."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received (suppressing; erasure awaits review)")
        ENFORCING = "enforcing", _("Erasing")
        COMPLETED = "completed", _("Erased and suppressed")
        REJECTED = "rejected", _("Rejected")

    class Channel(models.TextChoices):
        OPERATOR = "operator", _("Entered by the operator's staff")
        PUBLIC_FORM = "public_form", _("Public opt-out form")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The requester's identity is sealed at rest (portal.sealing): SQL run as the application reads
    # only ciphertext. Lengths are enforced by the forms and opt_out_create().
    full_name = SealedTextField(purpose="compliance_optout.full_name", blank=True)
    contact = SealedTextField(purpose="compliance_optout.contact", help_text=_("E-mail or postal address for the reply."))
    region = models.CharField(max_length=6, blank=True, help_text=_("Where the person lives (ISO 3166)."))
    consent_given_at = models.DateTimeField(help_text=_("Consent to keep the suppression embeddings."))
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    match_threshold = models.FloatField()
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Opt-out {self.public_id}"


class OptOutEmbedding(models.Model):
    opt_out = models.ForeignKey(OptOut, on_delete=models.CASCADE, related_name="embeddings")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    picture_sha256 = models.CharField(max_length=64)

"""People's requests about their data (GDPR Art. 15, 17, 18, 21, and opt-outs) and the answer
each controller gives: the operator for its platform index, each tenant for its own gallery.

`DataSubjectRequest` and `RequestFace` are platform tables (no tenant; written only under the
platform's claim, rights/0001). `ForwardedRequest` is the tenant's copy of a request it must
decide, under forced row-level security: the tenant never reads the platform's tables, so the
forwarded row carries what the tenant needs (reference, kind, dates, the faces concerned).
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from pgvector.django import VectorField

from portal.gallery.models import EMBEDDING_DIMENSIONS
from portal.sealing import SealedTextField
from tenants.managers import TenantScopedManager
from tenants.models import Tenant


class RequestKind(models.TextChoices):
    OPT_OUT = "opt_out", _("Opt-out (erasure, and refusal of new pictures)")
    ERASURE = "erasure", _("Erasure (GDPR Art. 17)")
    ACCESS = "access", _("Access (GDPR Art. 15)")
    OBJECTION = "objection", _("Objection (GDPR Art. 21)")
    RESTRICTION = "restriction", _("Restriction of processing (GDPR Art. 18)")


# Kinds that ask a controller to stop using the person's faces: suppressed from the platform
# index on receipt, and complied with by erasure (restriction: by withholding).
STOPPING_KINDS = (RequestKind.OPT_OUT, RequestKind.ERASURE, RequestKind.OBJECTION, RequestKind.RESTRICTION)
ERASING_KINDS = (RequestKind.OPT_OUT, RequestKind.ERASURE, RequestKind.OBJECTION)


class DataSubjectRequest(models.Model):
    class Status(models.TextChoices):
        AWAITING_EMAIL = "awaiting_email", _("Awaiting the e-mail confirmation")
        AWAITING_VERIFICATION = "awaiting_verification", _("Awaiting identity verification")
        IN_PROGRESS = "in_progress", _("Verified; decisions in progress")
        # A context of its own: the access answer's PDF has "Answered" before a date ("answered on").
        ANSWERED = "answered", pgettext_lazy("request status", "Answered")
        REJECTED = "rejected", _("Identity not verified")

    class Decision(models.TextChoices):
        COMPLIED = "complied", _("Complied with")
        RELEASED = "released", _("Answer released")
        REFUSED = "refused", _("Refused")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.AWAITING_EMAIL, db_index=True)
    # The requester, sealed at rest (portal.sealing). Only hashes of the links' tokens are kept.
    email = SealedTextField(purpose="rights_request.email")
    full_name = SealedTextField(purpose="rights_request.full_name", blank=True)
    region = models.CharField(max_length=6, blank=True)
    email_token_hash = models.CharField(max_length=64, unique=True)
    status_token_hash = models.CharField(max_length=64, unique=True)
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The clock (GDPR Art. 12(3)): one month from receipt, extendable by two more with a reason.
    received_at = models.DateTimeField()
    deadline = models.DateField()
    extended_deadline = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)
    # Verification of the requester: the request picture's face and the identity document's,
    # compared by the operator. The files are deleted once the operator decided.
    match_threshold = models.FloatField()
    request_face_crop = models.CharField(max_length=300, blank=True)
    document_picture = models.CharField(max_length=300, blank=True)
    document_face_crop = models.CharField(max_length=300, blank=True)
    document_similarity = models.FloatField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    verification_note = models.TextField(blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    # What the platform index holds of the person at verification, and the operator's decision.
    platform_faces = models.IntegerField(null=True, blank=True)
    platform_decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    platform_reason = models.TextField(blank=True)
    platform_decided_at = models.DateTimeField(null=True, blank=True)
    platform_order = models.ForeignKey("compliance.RegulatoryOrder", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    # The suppression in force from receipt (stopping kinds): the platform index only.
    opt_out = models.OneToOneField("compliance.OptOut", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="request")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"DSR-{str(self.public_id)[:8].upper()}"

    @property
    def due_on(self):
        return self.extended_deadline or self.deadline


class RequestFace(models.Model):
    """The requester's face (from the request picture) that searches for the request use; kept
    while the request is handled, and with the opt-out's consent for suppression."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="faces")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    picture_sha256 = models.CharField(max_length=64)


class RefusalGround(models.TextChoices):
    LAW_ENFORCEMENT = "law_enforcement", _("Law-enforcement processing (Directive (EU) 2016/680 and national law)")
    LEGAL_OBLIGATION = "legal_obligation", _("Compliance with a legal obligation (GDPR Art. 17(3)(b))")
    LEGAL_CLAIMS = "legal_claims", _("Establishment, exercise or defence of legal claims (GDPR Art. 17(3)(e))")
    COMPELLING_GROUNDS = "compelling_grounds", _("Compelling legitimate grounds (GDPR Art. 21(1))")
    RIGHTS_OF_OTHERS = "rights_of_others", _("Rights and freedoms of others (GDPR Art. 15(4))")
    OTHER = "other", _("Another legal ground (explained below)")


class ForwardedRequest(models.Model):
    """A verified request forwarded to a tenant whose gallery holds faces matching the requester."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting your decision")
        COMPLIED = "complied", _("Complied with")
        RELEASED = "released", _("Answer released")
        REFUSED = "refused", _("Refused")

    # No index of its own: forwarded_request_once starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request_id = models.BigIntegerField(db_index=True)  # the platform's DataSubjectRequest
    reference = models.CharField(max_length=20)
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    received_at = models.DateTimeField()
    deadline = models.DateField()
    face_uuids = ArrayField(models.UUIDField())
    forwarded_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    ground = models.CharField(max_length=24, choices=RefusalGround.choices, blank=True)
    reasoning = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    decided_by_label = models.CharField(max_length=200, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    faces_restricted = models.IntegerField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-forwarded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["tenant", "request_id"], name="forwarded_request_once")]

"""What can be searched: pictures with their provenance, the faces found in them, named subjects.

Two kinds of gallery share these tables: each tenant's own (tenant set) and the operator's
platform index (tenant NULL), which entitled tenants may search. Row-level security admits
platform rows to entitled tenants for reading only.
"""

import uuid

from django.conf import settings
from django.db import models
from pgvector.django import VectorField

from portal.gallery.regions import RegionEvidence
from tenants.managers import TenantScopedManager
from tenants.models import Tenant
from django.utils.translation import gettext_lazy as _

EMBEDDING_DIMENSIONS = 128


class Subject(models.Model):
    """A named person in a tenant's own gallery (a watch-list entry, a booking record)."""

    # No index of its own: the (tenant, label) index starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.CASCADE, related_name="subjects")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text=_("How the object is named outside: URLs, API bodies, exports."))
    label = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text=_("The tenant's own record number."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["label", "id"]
        indexes = [models.Index(fields=["tenant", "label"])]

    def __str__(self):
        return self.label


class LegalBasis(models.TextChoices):
    """Why the operator or tenant may hold the picture (recorded at ingest, shown as provenance)."""

    CONSENT = "consent", _("Consent of the person")
    LAW_ENFORCEMENT = "law_enforcement", _("Law-enforcement duty (custody, warrant)")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")
    PUBLIC_RECORD = "public_record", _("Public record")
    CONTRACT = "contract", _("Contract with the data holder")
    OTHER = "other", _("Other (see notes)")


def _image_path(image, filename):
    owner = image.tenant_id or "platform"
    return f"images/{owner}/{image.sha256[:2]}/{image.sha256}{filename[filename.rfind('.'):] if '.' in filename else ''}"


def _thumbnail_path(image, filename):
    # Beside the picture, named after it, so that everything of one picture shares one stem.
    owner = image.tenant_id or "platform"
    return f"images/{owner}/{image.sha256[:2]}/{image.sha256}.thumb.jpg"


class Image(models.Model):
    """One ingested picture and where it came from."""

    # No index of its own: image_unique_per_gallery and the (tenant, -created_at) index start with it
    # (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, null=True, blank=True, on_delete=models.CASCADE, related_name="images",
                               help_text=_("Empty for the operator's platform index."))
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text=_("How the object is named outside: URLs, API bodies, exports."))
    file = models.FileField(upload_to=_image_path, max_length=300)
    thumbnail = models.FileField(upload_to=_thumbnail_path, max_length=300, blank=True,
                                 help_text=_("A small JPEG of the picture (longest side 320 px) for the pages that list pictures."))
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    source_url = models.URLField(max_length=2000, blank=True)
    source_domain = models.CharField(max_length=253, blank=True, db_index=True)
    region = models.CharField(max_length=6, null=True, blank=True, db_index=True, help_text=_("ISO 3166 code, e.g. FR or US-IL."))
    region_evidence = models.CharField(max_length=16, choices=RegionEvidence.choices, default=RegionEvidence.UNKNOWN)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    collected_at = models.DateTimeField(null=True, blank=True)
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.SET_NULL, related_name="images")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    withheld = models.BooleanField(default=False, help_text=_("Covered by a regulatory order: never searchable again."))

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same picture once per gallery; NULL tenants (the platform index) count as one gallery.
            models.UniqueConstraint(fields=["tenant", "sha256"], name="image_unique_per_gallery", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

    def __str__(self):
        return f"Image {self.pk} ({self.source_domain or 'upload'})"


class ImageEvidence(models.Model):
    """One statement of where a picture came from: the first import's, then each re-import that
    declared something else (another region, another source). The image's own columns hold the
    provenance in force; these rows are its history (who declared what, when)."""

    # The database cascades (gallery/0006), so enforcement's raw DELETE of an image takes its history.
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
                               related_name="+", help_text=_("Empty for the operator's platform index."))
    # No index of its own: the (image, declared_at) index starts with it (tests/core/test_redundant_indexes.py).
    image = models.ForeignKey(Image, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="evidence")
    source_url = models.URLField(max_length=2000, blank=True)
    source_domain = models.CharField(max_length=253, blank=True)
    region = models.CharField(max_length=6, null=True, blank=True)
    region_evidence = models.CharField(max_length=16, choices=RegionEvidence.choices, default=RegionEvidence.UNKNOWN)
    legal_basis = models.CharField(max_length=32, choices=LegalBasis.choices)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    declared_by_label = models.CharField(max_length=200, blank=True)
    declared_at = models.DateTimeField()
    withheld_by_order = models.CharField(max_length=100, blank=True,
                                         help_text=_("The order or opt-out that now covers the picture, if any."))

    objects = TenantScopedManager()

    class Meta:
        ordering = ["declared_at", "id"]
        indexes = [models.Index(fields=["image", "declared_at"])]


def _crop_path(face, filename):
    owner = face.tenant_id or "platform"
    return f"crops/{owner}/{face.uuid}.jpg"


class Face(models.Model):
    """A face found in an image, with its embedding. tenant, region and source_domain are copied
    from the image so that the vector index, RLS and regulatory orders need no join."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="faces")
    # No index of its own: face_tenant is on it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.SET_NULL, related_name="faces")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    box_x = models.PositiveIntegerField()
    box_y = models.PositiveIntegerField()
    box_w = models.PositiveIntegerField()
    box_h = models.PositiveIntegerField()
    confidence = models.FloatField()
    crop = models.FileField(upload_to=_crop_path, max_length=300)
    region = models.CharField(max_length=6, null=True, blank=True)
    source_domain = models.CharField(max_length=253, blank=True)
    engine = models.CharField(max_length=64)
    # Which dlib detector found the face: HOG, or the CNN that runs when HOG finds none
    # (portal/faces/engine.py). A database default too, so raw bulk inserts need not name it.
    detector = models.CharField(max_length=8, choices=[("hog", "HOG"), ("cnn", "CNN")], default="hog",
                                db_default="hog")
    withheld = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The vector index (HNSW over the embeddings at half precision) is not declared here:
            # portal/gallery/face_index.py defines it, and migrations create it from there.
            models.Index(fields=["tenant"], name="face_tenant"),
            models.Index(fields=["region"], name="face_region"),
            models.Index(fields=["source_domain"], name="face_source_domain"),
        ]

    def __str__(self):
        return f"Face {self.pk} in image {self.image_id}"

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.box_x, self.box_y, self.box_w, self.box_h)


class MaintenanceState(models.Model):
    """One row: faces deleted since the face index was last vacuumed and reindexed
    (portal/gallery/maintenance.py). The table keeps the name it had in the compliance app."""

    faces_deleted_since = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "compliance_maintenancestate"

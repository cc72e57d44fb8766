import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField

from portal.gallery.models import EMBEDDING_DIMENSIONS, Face
from tenants.managers import TenantScopedManager
from tenants.models import Tenant


class Band(models.TextChoices):
    """How strong a lead a match is; calibrated for the engine (see portal/search/bands.py)."""

    STRONG = "strong", _("Strong lead")
    POSSIBLE = "possible", _("Possible lead")
    BELOW = "below", _("Below threshold")


class Authorisation(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required")
    GRANTED = "granted", _("Granted")
    PENDING = "pending", _("Urgent, awaiting authorisation")
    REFUSED = "refused", _("Refused")
    OVERDUE = "overdue", _("Not authorised within 48 hours")


class SearchStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    NO_FACE = "no_face", _("No face in the probe")
    FAILED = "failed", _("Failed")


class Search(models.Model):
    """One 1:N search: who ran it, why, on what probe, with what settings, and how long it took."""

    Status = SearchStatus

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="searches")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text=_("How the object is named outside: URLs, API bodies, exports."))
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, help_text=_("Who ran it, as shown in the audit log."))
    case_reference = models.CharField(max_length=100, blank=True, db_index=True)
    purpose = models.CharField(max_length=500, blank=True)
    probe = models.FileField(upload_to="probes/%Y/%m/", max_length=300, blank=True,
                             help_text=_("Kept for the tenant's retention period, then purged."))
    probe_sha256 = models.CharField(max_length=64)
    probe_embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    probe_face_box = models.JSONField(null=True, blank=True)
    probe_faces_found = models.PositiveSmallIntegerField(default=0)
    probe_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # EU AI Act Art. 26(10): a law-enforcement tenant's search is authorised in advance, or is
    # urgent and authorised within 48 hours (portal/search/authorisations.py).
    authorisation = models.CharField(max_length=16, choices=Authorisation.choices, default=Authorisation.NOT_REQUIRED)
    urgent = models.BooleanField(default=False, help_text=_("Run before an authorisation, which is due within 48 hours."))
    authorisation_authority = models.CharField(max_length=200, blank=True)
    authorisation_reference = models.CharField(max_length=100, blank=True)
    authorisation_date = models.DateField(null=True, blank=True)
    authorisation_recorded_at = models.DateTimeField(null=True, blank=True)
    authorisation_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    results_erased_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When its matches, probe and embedding were deleted (refused or overdue "
                                         "authorisation); the record that the search happened stays."))
    k = models.PositiveSmallIntegerField()
    threshold = models.FloatField(help_text=_("Similarity from which a match is a lead."))
    include_platform_index = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices)
    timings_ms = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "searches"

    def __str__(self):
        return f"Search {self.pk} ({self.case_reference or 'no case'})"

    @property
    def results_withheld(self) -> bool:
        """Its matches may not be shown: deleted, or an urgent search past its 48 hours with no
        authorisation (which the beat task is about to delete)."""
        if self.results_erased_at is not None or self.authorisation in (Authorisation.REFUSED, Authorisation.OVERDUE):
            return True
        return self.authorisation == Authorisation.PENDING and self.authorisation_due_at <= timezone.now()


class SearchMatch(models.Model):
    """A face returned by a search. Deleting a face (erasure, order) deletes its matches."""

    # No index of its own: search_match_unique_rank (search, rank) starts with it (tests/core/test_redundant_indexes.py).
    search = models.ForeignKey(Search, db_index=False, on_delete=models.CASCADE, related_name="matches")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text=_("How the object is named outside: URLs, API bodies, exports."))
    # No database key: the face table is partitioned by gallery (search/0008).
    face = models.ForeignKey(Face, on_delete=models.CASCADE, db_constraint=False, related_name="matches")
    rank = models.PositiveSmallIntegerField()
    similarity = models.FloatField()
    band = models.CharField(max_length=16, choices=Band.choices)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["search", "rank"]
        constraints = [models.UniqueConstraint(fields=["search", "rank"], name="search_match_unique_rank")]


class Verdict(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")


class MatchReview(models.Model):
    """One reviewer's verdict on a match (EU AI Act Art. 14(5): human verification by two people).

    Append-only: a reviewer changes their mind by adding a verdict, never by editing one. The
    application's role has no UPDATE or DELETE on the table (portal.core's migrate) and a trigger
    refuses UPDATE (search/0004). The foreign keys cascade in the database, as the table's owner,
    so a face deleted by erasure or an order still takes its matches' verdicts with it; Django
    itself never deletes a verdict (DO_NOTHING)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: search_review_by_search (search, created_at) starts with it (tests/core/test_redundant_indexes.py).
    search = models.ForeignKey(Search, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    match = models.ForeignKey(SearchMatch, on_delete=models.DO_NOTHING, db_constraint=False, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                                 related_name="+")
    reviewer_label = models.CharField(max_length=200, help_text=_("The reviewer's name and e-mail when they reviewed."))
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.TextField(max_length=2000, blank=True)
    audit_position = models.BigIntegerField(help_text=_("Position of the verdict's event in the tenant's audit chain."))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["search", "created_at"], name="search_review_by_search")]


class Disclosure(models.Model):
    """An evidence pack that left the portal: who exported it, when, and which faces it shows.
    Kept for the data-subject work (who received a person's data); append-only like verdicts."""

    class Format(models.TextChoices):
        PDF = "pdf", _("PDF")
        JSON = "json", _("JSON")

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    search = models.ForeignKey(Search, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    match_public_ids = ArrayField(models.UUIDField())
    face_uuids = ArrayField(models.UUIDField(), help_text=_("The faces disclosed; kept after a face is erased."))
    format = models.CharField(max_length=8, choices=Format.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    audit_position = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]


class SearchAccess(models.Model):
    """Who looked: one row per view of a search's results, a crop of one of its matches or an
    evidence pack, by page or API. One INSERT per view and nothing read back on the way."""

    class What(models.TextChoices):
        RESULTS = "results", _("Results")
        CROP = "crop", _("Crop")
        EVIDENCE = "evidence", _("Evidence pack")

    class Via(models.TextChoices):
        PAGE = "page", _("Page")
        API = "api", _("API")

    tenant = models.ForeignKey(Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    # No index of its own: search_access_by_search (search, -created_at) starts with it (tests/core/test_redundant_indexes.py).
    search = models.ForeignKey(Search, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    what = models.CharField(max_length=16, choices=What.choices)
    via = models.CharField(max_length=8, choices=Via.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                   db_constraint=False, related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["search", "-created_at"], name="search_access_by_search")]


class SearchFloor(models.Model):
    """The platform's limits for one kind of tenant: the lowest lead threshold and the most matches
    a search may ask for. A tenant may set stricter ones, never looser (portal/search/floors.py).
    Written only by platform code (a trigger, search/0006)."""

    kind = models.CharField(max_length=32, choices=Tenant.Kind.choices, unique=True)
    min_threshold = models.FloatField(help_text=_("No search of this kind of tenant counts a lead below it."))
    max_k = models.PositiveSmallIntegerField(help_text=_("The most matches one search may return."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self):
        return f"{self.get_kind_display()}: threshold ≥ {self.min_threshold}, k ≤ {self.max_k}"



class FaceDisclosure(models.Model):
    """A face shown to a tenant: a search's results on the page, an API search response, an
    evidence export. Holds what outlives the face (GDPR Art. 19 needs it then): the search and its
    case reference, the face's and its picture's opaque ids. One row per tenant, search, face and way."""

    class Via(models.TextChoices):
        PAGE = "page", _("Search results page")
        API = "api", _("API response")
        EVIDENCE = "evidence", _("Evidence export")

    # No index of its own: face_disclosure_once starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    search_public_id = models.UUIDField()
    case_reference = models.CharField(max_length=100, blank=True)
    face_uuid = models.UUIDField(db_index=True)
    image_public_id = models.UUIDField(null=True, blank=True)
    via = models.CharField(max_length=8, choices=Via.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "search_public_id", "face_uuid", "via"],
                                               name="face_disclosure_once")]


class RecallNotice(models.Model):
    """Tells a tenant that faces it received were erased or restricted (GDPR Art. 19), naming the
    searches and case references concerned; a member acknowledges it. Made in the deleting (or
    restricting) transaction; one per tenant, cause and action, grown while unacknowledged."""

    class Action(models.TextChoices):
        ERASED = "erased", _("Erased")
        RESTRICTED = "restricted", _("Restricted")

    class Cause(models.TextChoices):
        ORDER = "order", _("Regulatory order")
        ERASURE = "erasure", _("Erasure by the gallery's owner")
        REQUEST = "request", _("A data subject's request, decided by the gallery's owner")

    # No index of its own: recall_notice_open (tenant, acknowledged_at) starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.CharField(max_length=16, choices=Action.choices)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    cause_reference = models.CharField(max_length=200, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    face_uuids = ArrayField(models.UUIDField())
    searches = models.JSONField(default=list, help_text=_('[{"search": public id, "case_reference": ...}]'))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                                        db_constraint=False, related_name="+")
    acknowledged_by_label = models.CharField(max_length=200, blank=True)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "acknowledged_at"], name="recall_notice_open")]

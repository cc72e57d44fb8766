"""Running a 1:N search, and the retention rule for the probes it keeps."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.faces.engine import DetectionResult, face_engine
from portal.faces.imaging import EXTENSIONS
from portal.gallery.gates import result_filters_apply
from portal.search.authorisations import AuthorisationGiven, authorisation_fields, searches_with_a_lead
from portal.search.bands import band_for
from portal.search.floors import search_limits
from portal.search.models import Search, SearchMatch
from portal.search.selectors import tenant_faces_nearest
from portal.webhooks.events import search_completed_emit
from tenants.context import dangerously_unscoped, scope_atomic, scope_on_commit, tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _

# Fetched beyond k so that faces dropped by result filters (opt-outs) still leave k matches.
_FILTER_HEADROOM = 10


class SearchInvalid(DomainError):
    """Search parameters that cannot be accepted (names the field)."""


def search_detect_faces(*, data: bytes) -> DetectionResult:
    """The faces in a picture, largest first, so that a person can choose the one to search."""
    return face_engine().faces_detect(data=data)


def _parameters_check(*, tenant: Tenant, case_reference: str, purpose: str, k: int | None,
                      threshold: float | None) -> None:
    if tenant.case_reference_required and not case_reference:
        raise SearchInvalid(_("%(name)s requires a case reference for every search.") % {"name": tenant.name}, field="case_reference")
    if tenant.case_reference_required and not purpose:
        raise SearchInvalid(_("%(name)s requires the purpose of every search.") % {"name": tenant.name}, field="purpose")
    if len(case_reference) > 100:
        raise SearchInvalid(_("The case reference is longer than 100 characters."), field="case_reference")
    if len(purpose) > 500:
        raise SearchInvalid(_("The purpose is longer than 500 characters."), field="purpose")
    if k is not None and not 1 <= k <= settings.SEARCH_MAX_K:
        raise SearchInvalid(_("k must be between 1 and %(max_k)s.") % {"max_k": settings.SEARCH_MAX_K}, field="k")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise SearchInvalid(_("threshold is a similarity between 0 and 1."), field="threshold")


def search_run(*, tenant: Tenant, actor: Actor, probe: bytes, case_reference: str = "", purpose: str = "",
               k: int | None = None, threshold: float | None = None,
               face_index: int | None = None, authorisation: AuthorisationGiven | None = None) -> Search:
    """Searches the probe's face (the largest, or the chosen one) among the faces the tenant may
    see: its own gallery, plus the platform index when entitled. Withheld faces never come back.

    Stores the search, its matches and the probe (until the tenant's retention ends) and audits
    it. A probe that cannot be searched raises and stores nothing. A law-enforcement tenant's
    search needs an authorisation, or the urgent mark (portal/search/authorisations.py). A
    threshold below the tenant's floor, or more matches than its limit, is refused
    (portal/search/floors.py); left out, they are the calibrated defaults within those limits.
    """
    case_reference, purpose = case_reference.strip(), purpose.strip()
    _parameters_check(tenant=tenant, case_reference=case_reference, purpose=purpose, k=k, threshold=threshold)
    limits = search_limits(tenant=tenant)
    threshold, k = limits.threshold_for(threshold), limits.k_for(k)
    authorised = authorisation_fields(tenant=tenant, given=authorisation)

    started = time.perf_counter()
    detection = search_detect_faces(data=probe)
    detected = time.perf_counter()
    if face_index is None:
        face = detection.largest()
    elif 0 <= face_index < len(detection.faces):
        face = detection.faces[face_index]
    else:
        raise SearchInvalid(_("face_index %(face_index)s does not exist: the picture has %(faces)s face(s), numbered from 0, largest first.") % {"face_index": face_index, "faces": len(detection.faces)}, field="face_index")

    with tenant_scope(tenant):
        neighbours = tenant_faces_nearest(tenant=tenant, embedding=face.embedding, k=k + _FILTER_HEADROOM,
                                          include_platform_index=tenant.may_search_platform_index)
        dropped = result_filters_apply(tenant=tenant, face_ids=[n.face_id for n in neighbours],
                                       probe_embedding=face.embedding)
        neighbours = [n for n in neighbours if n.face_id not in dropped][:k]
        if tenant.kind == Tenant.Kind.RETAIL:
            # Retail tenants are never shown a face below their threshold (floors.py).
            neighbours = [n for n in neighbours if n.similarity >= threshold]
        queried = time.perf_counter()
        leads = sum(n.similarity >= threshold for n in neighbours)
        retention_days = tenant.probe_retention_days
        if leads:
            retention_days = max(retention_days, settings.SEARCH_LEAD_PROBE_MIN_DAYS)

        search = Search(
            tenant=tenant, actor_user_id=actor.user_id, actor_api_key_id=actor.api_key_id, actor_label=actor.label,
            case_reference=case_reference, purpose=purpose, probe_sha256=hashlib.sha256(probe).hexdigest(),
            probe_embedding=face.embedding.tolist(), probe_face_box=list(face.box),
            probe_faces_found=len(detection.faces),
            probe_expires_at=timezone.now() + timedelta(days=retention_days),
            k=k, threshold=threshold, include_platform_index=tenant.may_search_platform_index,
            status=Search.Status.COMPLETED, **authorised,
        )
        search.probe.save(f"{tenant.pk}-{uuid.uuid4().hex}.{EXTENSIONS[detection.image.format]}",
                          ContentFile(probe), save=False)
        try:
            search.timings_ms = {
                "detect": round((detected - started) * 1000, 1),
                "query": round((queried - detected) * 1000, 1),
            }
            search.save()
            SearchMatch.objects.bulk_create([
                SearchMatch(search=search, tenant=tenant, face_id=n.face_id, rank=rank, similarity=n.similarity,
                            band=band_for(similarity=n.similarity, threshold=threshold))
                for rank, n in enumerate(neighbours, start=1)
            ])
            audit_record(action="search.run", actor=actor, tenant=tenant, target_type="search", target_id=search.public_id,
                         details={"case_reference": case_reference, "purpose": purpose, "k": k,
                                  "threshold": threshold, "matches": len(neighbours), "leads": leads,
                                  "authorisation": authorised["authorisation"],
                                  "authorisation_reference": authorised.get("authorisation_reference", "")})
            search_completed_emit(tenant=tenant, search_id=str(search.public_id), case_reference=case_reference,
                                  status=search.status, matches=len(neighbours), leads=leads,
                                  run_by=actor.label, created_at=search.created_at.isoformat())
        except BaseException:
            search.probe.delete(save=False)
            raise
        search.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        Search.objects.filter(pk=search.pk).update(timings_ms=search.timings_ms)
    return search


def probes_purge(*, now: datetime | None = None) -> int:
    """Deletes probe pictures past each tenant's retention (or their own expiry) and clears
    Search.probe; the search record and its matches stay. Runs hourly (portal/search/tasks.py)."""
    now = now or timezone.now()
    purged = 0
    with dangerously_unscoped(reason="purging probes past every tenant's retention"):
        for tenant in Tenant.objects.all():
            cutoff = now - timedelta(days=tenant.probe_retention_days)
            # A search with a lead keeps its probe at least SEARCH_LEAD_PROBE_MIN_DAYS.
            lead_cutoff = now - timedelta(days=max(tenant.probe_retention_days, settings.SEARCH_LEAD_PROBE_MIN_DAYS))
            expired = Search.objects.filter(tenant=tenant).exclude(probe="").filter(
                Q(probe_expires_at__lte=now) | (~searches_with_a_lead() & Q(created_at__lt=cutoff))
                | Q(created_at__lt=lead_cutoff))
            purged_here = 0
            while True:
                with scope_atomic():
                    batch = list(expired.select_for_update(skip_locked=True).only("id", "probe")[:500])
                    if not batch:
                        break
                    names = [s.probe.name for s in batch]
                    Search.objects.filter(pk__in=[s.pk for s in batch]).update(probe="")
                    scope_on_commit(lambda names=names: [default_storage.delete(n) for n in names])
                    purged_here += len(batch)
            if purged_here:
                audit_record(action="probe.purge", actor=Actor.system("probe retention"), tenant=tenant,
                             details={"retention_days": tenant.probe_retention_days, "probes": purged_here})
            purged += purged_here
    return purged

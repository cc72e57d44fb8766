"""Regulatory orders and opt-outs: filing, activation, enforcement, verification, certificates.

Activation puts an order in force in one short transaction, and from its commit no search of any
tenant returns a covered face: the similarity query applies the conditions of every order in
force (order_search_exclusion), whatever the `withheld` flags say yet. Enforcement then deletes
in batches; each batch deletes rows and adds to the counters in one transaction, so a worker
killed at any point restarts from what is left and never counts twice. Files are recorded in the batch's transaction and removed
from storage after it commits; a crash in between leaves the record for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from portal.api.models import IdempotencyRecord
from portal.api.services import idempotency_records_dangling_count, idempotency_records_forget_tenants
from portal.compliance import coverage
from portal.compliance.audit import Actor, audit_head, audit_record
from portal.compliance.models import (MaintenanceState, OptOut, OptOutEmbedding, OrderFileDeletion,
                                      OrderReferenceFace, OrderTenantProgress, RegulatoryOrder)
from portal.faces.engine import face_engine
from portal.gallery.regions import InvalidDomain, InvalidRegion, domain_covers, domain_from_url, region_normalise
from portal.gallery.signals import faces_deleted
from tenants.context import dangerously_unscoped
from tenants.models import Tenant

logger = logging.getLogger(__name__)

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind
DEFAULT_SUBJECT_THRESHOLD = 0.90  # same person 0.914-1.000 on the reference pictures; others at most 0.888
DELETED_KINDS = ("images", "faces", "originals", "crops", "probes", "probe_files", "matches", "subjects",
                 "cached_responses")


class OrderInvalid(ValueError):
    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class OrderStateError(OrderInvalid):
    code = "conflict"
    http_status = 409


# --------------------------------------------------------------------------------------------
# Filing
# --------------------------------------------------------------------------------------------

def _embeddings_of(*, pictures: list[bytes], field: str) -> list[tuple[np.ndarray, str]]:
    """The largest face of each picture (FaceEngineError subclasses propagate, e.g. NoFaceFound)."""
    if not pictures:
        raise OrderInvalid("At least one picture of the person is needed.", field=field)
    found = []
    for data in pictures:
        detection = face_engine().faces_detect(data=data)
        found.append((detection.largest().embedding, detection.image.sha256))
    return found


def order_create(*, actor: Actor, kind: str, authority: str, reference: str, received_on: date,
                 effective_at: datetime, deadline: date, description: str = "", regions: list[str] | None = None,
                 include_unknown_region: bool = False, domains: list[str] | None = None,
                 reference_pictures: list[bytes] | None = None, reference_embeddings: list[np.ndarray] | None = None,
                 match_threshold: float | None = None, offboard_tenants: list[Tenant] | None = None,
                 scope_all: bool = True, scope_tenants: list[Tenant] | None = None, scope_platform_index: bool = True,
                 opt_out: OptOut | None = None) -> RegulatoryOrder:
    """Files an order as a draft. Nothing is withheld until order_activate()."""
    if kind not in Kind.values:
        raise OrderInvalid(f"kind must be one of {', '.join(Kind.values)}.", field="kind")
    if not authority.strip():
        raise OrderInvalid("The issuing authority is required.", field="authority")
    if not reference.strip():
        raise OrderInvalid("The authority's reference is required.", field="reference")
    if RegulatoryOrder.objects.filter(reference=reference.strip()).exists():
        raise OrderInvalid(f"An order with reference {reference.strip()!r} exists already.", field="reference")
    if deadline < received_on:
        raise OrderInvalid("The deadline is before the order was received.", field="deadline")
    order = RegulatoryOrder(
        kind=kind, authority=authority.strip()[:200], reference=reference.strip()[:100], description=description,
        received_on=received_on, effective_at=effective_at, deadline=deadline, created_by_id=actor.user_id,
        scope_all=scope_all, scope_platform_index=scope_platform_index if not scope_all else True,
        scope_tenant_ids=[] if scope_all else sorted(t.pk for t in scope_tenants or []), opt_out=opt_out,
    )
    if not scope_all and not order.scope_tenant_ids and not order.scope_platform_index:
        raise OrderInvalid("Choose at least one tenant or the platform index.", field="scope_tenants")
    embeddings: list[tuple[np.ndarray, str]] = []
    if kind == Kind.REGIONAL:
        try:
            order.regions = sorted({region_normalise(code=code) for code in regions or [] if code.strip()})
        except InvalidRegion as error:
            raise OrderInvalid(str(error), field="regions") from error
        order.include_unknown_region = include_unknown_region
        if not order.regions and not include_unknown_region:
            raise OrderInvalid("A regional order needs at least one region.", field="regions")
    elif kind == Kind.SOURCE:
        normalised = []
        for raw in domains or []:
            if not raw.strip():
                continue
            domain = domain_from_url(url=raw)
            if domain is None:
                raise OrderInvalid(f"{raw!r} is not a domain.", field="domains")
            normalised.append(domain)
        order.domains = sorted(set(normalised))
        if not order.domains:
            raise OrderInvalid("A source order needs at least one domain.", field="domains")
    elif kind == Kind.SUBJECT:
        threshold = DEFAULT_SUBJECT_THRESHOLD if match_threshold is None else float(match_threshold)
        if not 0.5 <= threshold <= 1.0:
            raise OrderInvalid("The match threshold is a similarity between 0.5 and 1.", field="match_threshold")
        order.match_threshold = threshold
        if reference_embeddings is not None:
            embeddings = [(np.asarray(e, dtype=np.float32), "") for e in reference_embeddings]
        else:
            embeddings = _embeddings_of(pictures=reference_pictures or [], field="reference_pictures")
    elif kind == Kind.OFFBOARDING:
        order.offboard_tenant_ids = sorted({t.pk for t in offboard_tenants or []})
        if not order.offboard_tenant_ids:
            raise OrderInvalid("Choose the tenants to offboard.", field="offboard_tenants")
        order.scope_all, order.scope_tenant_ids = False, list(order.offboard_tenant_ids)
        order.scope_platform_index = False
    with transaction.atomic():
        order.save()
        OrderReferenceFace.objects.bulk_create(
            OrderReferenceFace(order=order, embedding=e.tolist(), picture_sha256=sha) for e, sha in embeddings)
        audit_record(action="order.create", actor=actor, target_type="order", target_id=order.pk,
                     details={"kind": kind, "authority": order.authority, "reference": order.reference,
                              "regions": order.regions, "domains": order.domains,
                              "reference_faces": len(embeddings), "offboard_tenant_ids": order.offboard_tenant_ids,
                              "scope_all": order.scope_all, "scope_tenant_ids": order.scope_tenant_ids,
                              "deadline": deadline.isoformat()})
    return order


def order_delete_draft(*, order: RegulatoryOrder, actor: Actor) -> None:
    with transaction.atomic():
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != Status.DRAFT:
            raise OrderStateError("Only a draft can be withdrawn; an order in force stays on record.")
        audit_record(action="order.withdraw", actor=actor, target_type="order", target_id=order.pk,
                     details={"reference": order.reference})
        order.delete()


# --------------------------------------------------------------------------------------------
# Activation
# --------------------------------------------------------------------------------------------

def _withhold(*, order: RegulatoryOrder) -> tuple[int, int]:
    faces = coverage.face_predicate(order=order)
    images = coverage.image_predicate(order=order)
    with connection.cursor() as cursor:
        # Faces first: they are what search reads.
        cursor.execute(f"UPDATE gallery_face f SET withheld = true WHERE NOT f.withheld AND {faces.sql}", faces.params)
        faces_withheld = cursor.rowcount
        cursor.execute(f"UPDATE gallery_image i SET withheld = true WHERE NOT i.withheld AND {images.sql}",
                       images.params)
        return faces_withheld, cursor.rowcount


def order_activate(*, order: RegulatoryOrder, actor: Actor, record_coverage: bool = True) -> RegulatoryOrder:
    """Puts the order in force. From the commit of one short transaction, no search of any tenant
    returns a covered face and the ingest gate refuses what the order covers.

    How "at once" holds at any gallery size: the similarity query applies the conditions of every
    order in force (order_search_exclusion), so for regional, source and offboarding orders the
    commit of the status change is what hides their faces. Their `withheld` flags, which the
    gallery pages, the API and the counters read, are then set straight after the commit
    (order_withhold_flags); the sweep and enforcement set them again, so a crash in between loses
    nothing. A subject order's faces are found by similarity, which the search cannot test per
    row, so they are withheld inside the activation transaction; they are one person's pictures.
    Offboarded tenants are suspended in the same transaction.
    """
    with dangerously_unscoped(reason="order activation withholds across tenants"):
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != Status.DRAFT:
            raise OrderStateError(f"The order is {order.get_status_display().lower()}, not a draft.")
        details = {"reference": order.reference}
        if order.kind == Kind.SUBJECT:
            details["faces_withheld"], details["images_withheld"] = _withhold(order=order)
        if order.kind == Kind.OFFBOARDING:
            Tenant.objects.filter(pk__in=order.offboard_tenant_ids).update(status=Tenant.Status.SUSPENDED)
        order.status, order.activated_at = Status.ACTIVE, timezone.now()
        order.save(update_fields=["status", "activated_at"])
        audit_record(action="order.activate", actor=actor, target_type="order", target_id=order.pk, details=details)
    if order.kind != Kind.SUBJECT:
        order_withhold_flags(order=order, actor=actor)
    # Counted after the commit, so that the counting does not delay the moment nothing is visible;
    # the gate already refuses new covered data, so the count is what was there.
    return order_coverage_record(order=order) if record_coverage else order


def order_withhold_flags(*, order: RegulatoryOrder, actor: Actor) -> tuple[int, int]:
    """Sets `withheld` on every face and image the order covers that is not yet flagged, in one
    transaction of its own, and audits the counts."""
    with dangerously_unscoped(reason="withholding an order's coverage across tenants"):
        faces_withheld, images_withheld = _withhold(order=order)
        audit_record(action="order.withhold", actor=actor, target_type="order", target_id=order.pk,
                     details={"reference": order.reference, "faces_withheld": faces_withheld,
                              "images_withheld": images_withheld})
    return faces_withheld, images_withheld


def order_search_exclusion(*, tenant: Tenant, include_platform_index: bool, alias: str) -> list[tuple[str, list]]:
    """The conditions of the regional, source and offboarding orders in force (every status but
    draft) that reach the galleries this search reads, over `gallery_face AS alias`. They test the
    face's own columns (region, source domain, tenant), so the HNSW scan applies them per row at
    no measurable cost. Subject orders are withheld at activation instead (order_activate)."""
    conditions = []
    for order in (RegulatoryOrder.objects.exclude(status=Status.DRAFT).exclude(kind=Kind.SUBJECT)
                  .only("kind", "regions", "include_unknown_region", "domains", "offboard_tenant_ids",
                        "scope_all", "scope_tenant_ids", "scope_platform_index")):
        if order.kind == Kind.OFFBOARDING:
            relevant = tenant.pk in order.offboard_tenant_ids
        else:
            relevant = (order.scope_all or tenant.pk in order.scope_tenant_ids
                        or (include_platform_index and order.scope_platform_index))
        if relevant:
            predicate = coverage.face_predicate(order=order, alias=alias)
            conditions.append((predicate.sql, predicate.params))
    return conditions


def order_coverage_record(*, order: RegulatoryOrder) -> RegulatoryOrder:
    with dangerously_unscoped(reason="recording what an order covers in every gallery"):
        counts = coverage.coverage_count(order=order)
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        for tenant_id, covered in counts.items():
            progress, _ = OrderTenantProgress.objects.get_or_create(order=order, tenant_id=tenant_id)
            progress.covered = covered
            progress.save(update_fields=["covered"])
        order.covered = coverage.coverage_totals(counts)
        order.save(update_fields=["covered"])
    return order


# --------------------------------------------------------------------------------------------
# Enforcement
# --------------------------------------------------------------------------------------------

@dataclass
class _Tally:
    by_gallery: dict

    def add(self, tenant_id: int | None, kind: str, n: int = 1) -> None:
        gallery = self.by_gallery.setdefault(tenant_id, {})
        gallery[kind] = gallery.get(kind, 0) + n


def _tally_persist(*, order: RegulatoryOrder, tally: _Tally) -> None:
    """Adds a batch's counts to the order and its per-gallery rows, in the batch's transaction."""
    order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
    for tenant_id, counts in tally.by_gallery.items():
        progress, _ = OrderTenantProgress.objects.select_for_update().get_or_create(order=order, tenant_id=tenant_id)
        progress.deleted = {k: progress.deleted.get(k, 0) + counts.get(k, 0) for k in {*progress.deleted, *counts}}
        progress.save(update_fields=["deleted"])
        for kind, n in counts.items():
            order.deleted[kind] = order.deleted.get(kind, 0) + n
    order.save(update_fields=["deleted"])
    faces = sum(counts.get("faces", 0) for counts in tally.by_gallery.values())
    if faces:
        state, _ = MaintenanceState.objects.get_or_create(pk=1)
        MaintenanceState.objects.filter(pk=1).update(faces_deleted_since=state.faces_deleted_since + faces)


def _files_track(*, order: RegulatoryOrder, files: list[tuple[str, str]]) -> None:
    OrderFileDeletion.objects.bulk_create(OrderFileDeletion(order=order, path=path, kind=kind)
                                          for path, kind in files if path)


def order_files_finish(*, order: RegulatoryOrder) -> int:
    """Removes from storage the files whose rows are gone (also those a crashed run left)."""
    removed = 0
    pending = OrderFileDeletion.objects.filter(order=order, deleted_at__isnull=True)
    for batch_start in range(0, 1_000_000_000, 1000):
        batch = list(pending.order_by("id")[:1000])
        if not batch:
            break
        for record in batch:
            default_storage.delete(record.path)  # no error when already gone
            removed += 1
        OrderFileDeletion.objects.filter(pk__in=[r.pk for r in batch]).update(deleted_at=timezone.now())
    return removed


def _images_batch_delete(*, order: RegulatoryOrder, batch_size: int) -> int:
    """One batch: covered images with their faces, crops and matches. Returns images deleted."""
    images = coverage.image_predicate(order=order)
    tally = _Tally({})
    with dangerously_unscoped(reason=f"enforcing order {order.pk} across tenants"), connection.cursor() as cursor:
        cursor.execute(f"SELECT i.id, i.tenant_id, i.file FROM gallery_image i WHERE {images.sql}"
                       f" ORDER BY i.id LIMIT %s FOR UPDATE SKIP LOCKED", [*images.params, batch_size])
        rows = cursor.fetchall()
        if not rows:
            return 0
        image_ids = [row[0] for row in rows]
        cursor.execute("SELECT id, tenant_id, crop, uuid FROM gallery_face WHERE image_id = ANY(%s)", [image_ids])
        faces = cursor.fetchall()
        face_ids = [row[0] for row in faces]
        _files_track(order=order, files=[(row[2], "original") for row in rows] + [(row[2], "crop") for row in faces])
        cursor.execute("DELETE FROM search_searchmatch WHERE face_id = ANY(%s) RETURNING tenant_id", [face_ids])
        for (tenant_id,) in cursor.fetchall():
            tally.add(tenant_id, "matches")
        cursor.execute("DELETE FROM gallery_face WHERE id = ANY(%s) RETURNING tenant_id, crop", [face_ids])
        for tenant_id, crop in cursor.fetchall():
            tally.add(tenant_id, "faces")
            if crop:
                tally.add(tenant_id, "crops")
        cursor.execute("DELETE FROM gallery_image WHERE id = ANY(%s) RETURNING tenant_id, file", [image_ids])
        for tenant_id, file in cursor.fetchall():
            tally.add(tenant_id, "images")
            if file:
                tally.add(tenant_id, "originals")
        for tenant_id, forgotten in _faces_deleted_send(face_uuids=[str(row[3]) for row in faces]).items():
            tally.add(tenant_id, "cached_responses", forgotten)
        _tally_persist(order=order, tally=tally)
        transaction.on_commit(lambda: order_files_finish(order=order))
    return len(rows)


def _faces_deleted_send(*, face_uuids: list[str]) -> dict:
    """Tells other apps the faces are going, in the batch's transaction (gallery.signals).
    Receivers that remove copies return {tenant id: copies removed}; summed per gallery."""
    removed: dict = {}
    for _receiver, result in faces_deleted.send(sender=RegulatoryOrder, face_uuids=face_uuids):
        for tenant_id, n in (result or {}).items():
            removed[tenant_id] = removed.get(tenant_id, 0) + n
    return removed


def _probes_batch_delete(*, order: RegulatoryOrder, batch_size: int) -> int:
    """One batch of covered probes: a subject order clears the probe picture and embedding and
    deletes its matches (the search record stays); offboarding deletes the tenant's searches."""
    probes = coverage.probe_predicate(order=order)
    if probes is None:
        return 0
    tally = _Tally({})
    offboarding = order.kind == Kind.OFFBOARDING
    with dangerously_unscoped(reason=f"enforcing order {order.pk} on probes"), connection.cursor() as cursor:
        cursor.execute(f"SELECT s.id, s.tenant_id, s.probe FROM search_search s WHERE {probes.sql}"
                       f" ORDER BY s.id LIMIT %s FOR UPDATE SKIP LOCKED", [*probes.params, batch_size])
        rows = cursor.fetchall()
        if not rows:
            return 0
        search_ids = [row[0] for row in rows]
        _files_track(order=order, files=[(row[2], "probe") for row in rows])
        cursor.execute("DELETE FROM search_searchmatch WHERE search_id = ANY(%s) RETURNING tenant_id", [search_ids])
        for (tenant_id,) in cursor.fetchall():
            tally.add(tenant_id, "matches")
        if offboarding:
            cursor.execute("DELETE FROM search_search WHERE id = ANY(%s)", [search_ids])
        else:
            cursor.execute("UPDATE search_search SET probe = '', probe_embedding = NULL, probe_face_box = NULL"
                           " WHERE id = ANY(%s)", [search_ids])
        for _, tenant_id, probe in rows:
            tally.add(tenant_id, "probes")
            if probe:
                tally.add(tenant_id, "probe_files")
        _tally_persist(order=order, tally=tally)
        transaction.on_commit(lambda: order_files_finish(order=order))
    return len(rows)


def _subjects_delete(*, order: RegulatoryOrder) -> None:
    if order.kind != Kind.OFFBOARDING:
        return
    tally = _Tally({})
    with dangerously_unscoped(reason=f"offboarding order {order.pk}"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM gallery_subject WHERE tenant_id = ANY(%s) RETURNING tenant_id",
                       [list(order.offboard_tenant_ids)])
        for (tenant_id,) in cursor.fetchall():
            tally.add(tenant_id, "subjects")
        for tenant_id, n in idempotency_records_forget_tenants(tenant_ids=list(order.offboard_tenant_ids)).items():
            tally.add(tenant_id, "cached_responses", n)
        if tally.by_gallery:
            _tally_persist(order=order, tally=tally)


def order_enforce(*, order: RegulatoryOrder, actor: Actor | None = None, batch_size: int = 1000,
                  max_batches: int | None = None) -> RegulatoryOrder:
    """Deletes what the order covers, batch by batch, then verifies. Idempotent and resumable:
    run it again after any interruption and it carries on from what is left. `max_batches` stops
    early (returns the order still executing), for tests and for time-sliced workers."""
    actor = actor or Actor.system("order enforcement")
    with dangerously_unscoped(reason="order enforcement"):
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == Status.DRAFT:
            raise OrderStateError("A draft order is not in force; activate it first.")
        first_run = order.enforcement_started_at is None
        if order.status != Status.EXECUTING:
            order.status = Status.EXECUTING
            order.enforcement_started_at = order.enforcement_started_at or timezone.now()
            order.save(update_fields=["status", "enforcement_started_at"])
        # Every run is on the record: a resumed one (after a killed worker, or queued again by the
        # sweep) with what had been deleted when it started.
        audit_record(action="order.enforce" if first_run else "order.enforce_resume", actor=actor,
                     target_type="order", target_id=order.pk,
                     details={"reference": order.reference, **({} if first_run else {"deleted_before": order.deleted})})
        # Rows that slipped in since activation (none should: the gate refuses them) are withheld too.
        _withhold(order=order)
    with dangerously_unscoped(reason="finishing an interrupted run's file deletions"):
        order_files_finish(order=order)

    batches = 0
    for step in (_images_batch_delete, _probes_batch_delete):
        while True:
            if max_batches is not None and batches >= max_batches:
                order.refresh_from_db()
                return order
            if not step(order=order, batch_size=batch_size):
                break
            batches += 1
    _subjects_delete(order=order)

    with dangerously_unscoped(reason="order enforcement"):
        # Normally done by each batch's on_commit already; this catches a caller's outer transaction.
        order_files_finish(order=order)
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status == Status.VERIFIED:
            return order  # a run beside this one (queued by the sweep) finished and verified it
        order.status, order.completed_at = Status.COMPLETED, timezone.now()
        order.save(update_fields=["status", "completed_at"])
        audit_record(action="order.complete", actor=actor, target_type="order", target_id=order.pk,
                     details={"reference": order.reference, "deleted": order.deleted})
    return order_verify(order=order, actor=actor)


# --------------------------------------------------------------------------------------------
# Verification and certificate
# --------------------------------------------------------------------------------------------

def order_verify(*, order: RegulatoryOrder, actor: Actor) -> RegulatoryOrder:
    """Proves nothing the order covers remains: no covered row (images, faces, probes, matches)
    and none of the files its enforcement deleted still in storage. Verified only then."""
    with dangerously_unscoped(reason="verifying an order across tenants"):
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status not in {Status.COMPLETED, Status.VERIFIED}:
            raise OrderStateError("Only a completed order can be verified.")
        remaining = coverage.coverage_totals(coverage.coverage_count(order=order))
        tracked = OrderFileDeletion.objects.filter(order=order)
        pending = tracked.filter(deleted_at__isnull=True).count()
        still_there = [path for path in tracked.values_list("path", flat=True).iterator(chunk_size=5000)
                       if default_storage.exists(path)]
        remaining["cached_responses"] = _cached_responses_remaining(order=order)
        passed = not any(remaining.values()) and pending == 0 and not still_there
        order.verification = {
            "passed": passed, "checked_at": timezone.now().isoformat(), "rows_remaining": remaining,
            "files_checked": tracked.count(), "files_pending": pending, "files_remaining": len(still_there),
            "files_remaining_sample": still_there[:20],
        }
        fields = ["verification"]
        if passed:
            order.status, order.verified_at = Status.VERIFIED, timezone.now()
            fields += ["status", "verified_at"]
        order.save(update_fields=fields)
        audit_record(action="order.verify" if passed else "order.verify_failed", actor=actor, target_type="order",
                     target_id=order.pk, details={"reference": order.reference, **order.verification})
        if passed:
            order.certificate = _certificate_build(order=order)
            order.save(update_fields=["certificate"])
    return order


def _cached_responses_remaining(*, order: RegulatoryOrder) -> int:
    """Stored API responses that still name a deleted face, in the galleries the order reaches
    (for offboarding: any stored response of the tenants at all)."""
    if order.kind == Kind.OFFBOARDING:
        return IdempotencyRecord.objects.filter(tenant_id__in=order.offboard_tenant_ids).count()
    return idempotency_records_dangling_count(tenant_ids=None if order.scope_all else list(order.scope_tenant_ids))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _certificate_build(*, order: RegulatoryOrder) -> dict:
    tenants = {t.pk: t for t in Tenant.objects.filter(
        pk__in=[p.tenant_id for p in OrderTenantProgress.objects.filter(order=order) if p.tenant_id])}
    galleries = []
    for progress in OrderTenantProgress.objects.filter(order=order).order_by("tenant_id"):
        tenant = tenants.get(progress.tenant_id)
        galleries.append({
            "gallery": "platform index" if tenant is None else tenant.slug,
            "tenant_id": progress.tenant_id, "tenant_name": tenant.name if tenant else "Platform index",
            "covered_at_activation": progress.covered, "deleted": progress.deleted,
        })
    seq, head_hash = audit_head()
    return {
        "certificate": "regulatory-order-enforcement/1",
        "order": {"id": order.pk, "kind": order.kind, "authority": order.authority, "reference": order.reference,
                  "regions": order.regions, "include_unknown_region": order.include_unknown_region,
                  "domains": order.domains, "match_threshold": order.match_threshold,
                  "reference_faces": order.reference_faces.count(),
                  "offboard_tenant_ids": order.offboard_tenant_ids, "scope_all": order.scope_all,
                  "scope_tenant_ids": order.scope_tenant_ids, "scope_platform_index": order.scope_platform_index},
        "times": {"received_on": _iso(order.received_on), "effective_at": _iso(order.effective_at),
                  "deadline": _iso(order.deadline), "activated_at": _iso(order.activated_at),
                  "enforcement_started_at": _iso(order.enforcement_started_at),
                  "completed_at": _iso(order.completed_at), "verified_at": _iso(order.verified_at),
                  "within_deadline": bool(order.verified_at and order.verified_at.date() <= order.deadline)},
        "totals": {"covered_at_activation": order.covered, "deleted": order.deleted},
        "galleries": galleries,
        "verification": order.verification,
        "audit_chain_head": {"seq": seq, "hash": head_hash},
        "issued_at": timezone.now().isoformat(),
    }


# --------------------------------------------------------------------------------------------
# Gates: ingest refusal and result filtering (registered in ComplianceConfig.ready())
# --------------------------------------------------------------------------------------------

def _vector(embedding) -> str:
    return "[" + ",".join(f"{float(v):.7f}" for v in np.asarray(embedding).ravel()) + "]"


def _in_scope(order: RegulatoryOrder, tenant: Tenant | None) -> bool:
    if order.scope_all:
        return True
    return order.scope_platform_index if tenant is None else tenant.pk in order.scope_tenant_ids


def order_ingest_gate(*, tenant: Tenant | None, region: str | None, source_domain: str, embeddings) -> None:
    """Refuses a picture that an order in force covers (every status but draft: an order keeps
    refusing after its deletions are verified)."""
    from portal.gallery.gates import IngestRefused

    orders = RegulatoryOrder.objects.exclude(status=Status.DRAFT).only(
        "kind", "authority", "reference", "regions", "include_unknown_region", "domains", "offboard_tenant_ids",
        "scope_all", "scope_tenant_ids", "scope_platform_index")
    subject_orders = []
    for order in orders:
        if not _in_scope(order, tenant):
            continue
        covered = False
        if order.kind == Kind.REGIONAL:
            covered = (not region and order.include_unknown_region) or any(
                region and _region_covered(order_region=r, region=region) for r in order.regions)
        elif order.kind == Kind.SOURCE:
            covered = bool(source_domain) and any(_domain_covered(d, source_domain) for d in order.domains)
        elif order.kind == Kind.OFFBOARDING:
            covered = tenant is not None and tenant.pk in order.offboard_tenant_ids
        else:
            subject_orders.append(order.pk)
        if covered:
            raise IngestRefused(f"The picture is covered by {order.authority} order {order.reference}.",
                                reference=order.reference)
    if not embeddings:
        return
    with connection.cursor() as cursor:
        for embedding in embeddings:
            vector = _vector(embedding)
            if subject_orders:
                cursor.execute(
                    "SELECT o.authority, o.reference FROM compliance_orderreferenceface r"
                    " JOIN compliance_regulatoryorder o ON o.id = r.order_id"
                    " WHERE o.id = ANY(%s) AND (r.embedding <=> %s::vector) < 1 - o.match_threshold LIMIT 1",
                    [subject_orders, vector])
                row = cursor.fetchone()
                if row:
                    raise IngestRefused(f"The picture shows a person covered by {row[0]} order {row[1]}.",
                                        reference=row[1])
            cursor.execute(
                "SELECT o.public_id FROM compliance_optoutembedding e JOIN compliance_optout o ON o.id = e.opt_out_id"
                " WHERE o.status <> %s AND (e.embedding <=> %s::vector) < 1 - o.match_threshold LIMIT 1",
                [OptOut.Status.REJECTED, vector])
            row = cursor.fetchone()
            if row:
                raise IngestRefused("The picture shows a person who opted out of the platform.",
                                    reference=f"opt-out {str(row[0])[:8]}")


def _region_covered(*, order_region: str, region: str) -> bool:
    from portal.gallery.regions import region_covers

    try:
        return region_covers(order_region=order_region, region=region)
    except InvalidRegion:
        return False


def _domain_covered(order_domain: str, domain: str) -> bool:
    try:
        return domain_covers(order_domain=order_domain, domain=domain)
    except InvalidDomain:
        return False


def order_result_filter(*, tenant: Tenant, face_ids: list[int], probe_embedding) -> set[int]:
    """Faces among the results that an order in force covers. Activation already withheld them;
    this also hides data that slipped in after activation, until the next sweep withholds it."""
    if not face_ids:
        return set()
    orders = list(RegulatoryOrder.objects.exclude(status=Status.DRAFT))
    if not orders:
        return set()
    predicates = [coverage.face_predicate(order=order, alias="f") for order in orders]
    with connection.cursor() as cursor:
        cursor.execute("SELECT f.id FROM gallery_face f WHERE f.id = ANY(%s) AND ("
                       + " OR ".join(f"({p.sql})" for p in predicates) + ")",
                       [list(face_ids), *[x for p in predicates for x in p.params]])
        return {row[0] for row in cursor.fetchall()}


def opt_out_result_filter(*, tenant: Tenant, face_ids: list[int], probe_embedding) -> set[int]:
    """Faces among the results that match a person's suppression embeddings."""
    if not face_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id FROM gallery_face f WHERE f.id = ANY(%s) AND EXISTS ("
            " SELECT 1 FROM compliance_optoutembedding e JOIN compliance_optout o ON o.id = e.opt_out_id"
            " WHERE o.status <> %s AND (f.embedding <=> e.embedding) < 1 - o.match_threshold)",
            [list(face_ids), OptOut.Status.REJECTED])
        return {row[0] for row in cursor.fetchall()}


# --------------------------------------------------------------------------------------------
# Opt-outs
# --------------------------------------------------------------------------------------------

def opt_out_create(*, pictures: list[bytes], contact: str, consent: bool, channel: str, actor: Actor,
                   region: str = "", full_name: str = "", notes: str = "",
                   match_threshold: float = DEFAULT_SUBJECT_THRESHOLD) -> OptOut:
    """Records a person's opt-out with their suppression embeddings (pictures are not kept).
    Suppression starts at once: ingest refuses them and search filters them. An operator-entered
    request is erased at once (order_from_opt_out); a public-form request waits for an operator
    to confirm it, since erasure cannot be undone and the requester is not yet verified."""
    if not consent:
        raise OrderInvalid("Consent to keep the suppression data is required.", field="consent")
    if not contact.strip():
        raise OrderInvalid("A contact address is required for the reply.", field="contact")
    if channel not in OptOut.Channel.values:
        raise OrderInvalid("Unknown channel.", field="channel")
    if region:
        try:
            region = region_normalise(code=region)
        except InvalidRegion as error:
            raise OrderInvalid(str(error), field="region") from error
    embeddings = _embeddings_of(pictures=pictures, field="pictures")
    with transaction.atomic():
        opt_out = OptOut.objects.create(full_name=full_name.strip()[:200], contact=contact.strip()[:254],
                                        region=region, consent_given_at=timezone.now(), channel=channel,
                                        match_threshold=match_threshold, notes=notes, created_by_id=actor.user_id)
        OptOutEmbedding.objects.bulk_create(OptOutEmbedding(opt_out=opt_out, embedding=e.tolist(), picture_sha256=sha)
                                            for e, sha in embeddings)
        audit_record(action="optout.create", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"channel": channel, "region": region, "pictures": len(embeddings)})
    return opt_out


def opt_out_confirm(*, opt_out: OptOut, actor: Actor) -> RegulatoryOrder:
    """Erases the person as a subject order does: files the order, activates it (withholding every
    matching face at once) and returns it for enforcement."""
    with transaction.atomic():
        opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
        if opt_out.status != OptOut.Status.RECEIVED:
            raise OrderStateError(f"The opt-out is {opt_out.get_status_display().lower()}.")
        today = timezone.localdate()
        order = order_create(
            actor=actor, kind=Kind.SUBJECT, authority="Data subject (opt-out request)",
            reference=f"OPT-OUT-{str(opt_out.public_id)[:8].upper()}", received_on=opt_out.created_at.date(),
            effective_at=timezone.now(), deadline=today + timedelta(days=30), match_threshold=opt_out.match_threshold,
            reference_embeddings=[np.asarray(e.embedding, dtype=np.float32) for e in opt_out.embeddings.all()],
            opt_out=opt_out)
        opt_out.status = OptOut.Status.ENFORCING
        opt_out.save(update_fields=["status"])
        audit_record(action="optout.confirm", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"order_id": order.pk})
    return order_activate(order=order, actor=actor)


def opt_out_reject(*, opt_out: OptOut, actor: Actor, reason: str) -> OptOut:
    with transaction.atomic():
        opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
        if opt_out.status != OptOut.Status.RECEIVED:
            raise OrderStateError(f"The opt-out is {opt_out.get_status_display().lower()}.")
        opt_out.status = OptOut.Status.REJECTED
        opt_out.notes = (opt_out.notes + "\n" if opt_out.notes else "") + f"Rejected: {reason}"
        opt_out.save(update_fields=["status", "notes"])
        OptOutEmbedding.objects.filter(opt_out=opt_out).delete()  # no consent basis to keep them
        audit_record(action="optout.reject", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"reason": reason})
    return opt_out


def opt_outs_sync() -> int:
    """Marks opt-outs whose erasure order is verified as completed."""
    done = OptOut.objects.filter(status=OptOut.Status.ENFORCING, order__status=Status.VERIFIED)
    return done.update(status=OptOut.Status.COMPLETED)


# --------------------------------------------------------------------------------------------
# Scheduled work (portal/compliance/tasks.py)
# --------------------------------------------------------------------------------------------

def orders_sweep() -> list[int]:
    """Re-applies every order in force to the data as it is now: withholds what it covers and
    returns the orders that still have covered rows, for enforcement."""
    pending = []
    with dangerously_unscoped(reason="sweeping orders in force against new data"):
        for order in RegulatoryOrder.objects.exclude(status=Status.DRAFT).order_by("id"):
            faces_withheld, images_withheld = _withhold(order=order)
            if faces_withheld or images_withheld:
                audit_record(action="order.sweep", actor=Actor.system("order sweep"), target_type="order",
                             target_id=order.pk, details={"faces_withheld": faces_withheld,
                                                          "images_withheld": images_withheld})
            remaining = coverage.coverage_totals(coverage.coverage_count(order=order))
            if order.status in {Status.ACTIVE, Status.EXECUTING} or any(remaining.values()):
                pending.append(order.pk)
    opt_outs_sync()
    return pending


def order_deadlines_warn(*, within_days: int = 14) -> list[RegulatoryOrder]:
    """Warns (log, audit, e-mail to operators) once a day for each order in force, not yet
    verified, whose deadline is within `within_days` or past."""
    from django.core.mail import send_mail

    from tenants.models import User

    today = timezone.localdate()
    due = list(RegulatoryOrder.objects.exclude(status__in=[Status.VERIFIED]).filter(
        deadline__lte=today + timedelta(days=within_days)).exclude(deadline_warned_on=today))
    if not due:
        return []
    recipients = list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
    for order in due:
        days = (order.deadline - today).days
        text = (f"Order {order.authority} {order.reference} ({order.get_status_display()}) is due "
                + (f"in {days} day(s)" if days >= 0 else f"{-days} day(s) ago") + f", on {order.deadline}.")
        logger.warning(text)
        audit_record(action="order.deadline_warning", actor=Actor.system("deadline warnings"), target_type="order",
                     target_id=order.pk, details={"deadline": order.deadline.isoformat(), "days_left": days})
        if recipients:
            send_mail(f"Deadline: {order.reference}", text, None, recipients, fail_silently=True)
        RegulatoryOrder.objects.filter(pk=order.pk).update(deadline_warned_on=today)
    return due


ORPHAN_GRACE = timedelta(hours=1)


def _storage_walk(directory: str):
    """Every file name under `directory` in the default storage, depth first."""
    try:
        folders, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{directory}/{name}"
    for folder in folders:
        yield from _storage_walk(f"{directory}/{folder}")


def _owner(path: str) -> int | None:
    owner = path.split("/")[1]
    return None if owner == "platform" else int(owner)


def _referenced(cursor, *, directory: str, names: list[str]) -> set[str]:
    """Which of the names (all in one owner's folder of `directory`) a row still refers to. Each
    kind is looked up by what its name is made of, so the indexes serve: an original by its
    gallery and SHA-256, a crop by its face's uuid, a probe by its name."""
    if directory == "probes":
        cursor.execute("SELECT probe FROM search_search WHERE probe = ANY(%s)", [names])
        return {row[0] for row in cursor.fetchall()}
    owner = _owner(names[0])
    # Storage may add a suffix to a name already taken ("<uuid>_x7Yz1Ab.jpg"), so only the
    # length of a SHA-256 or a uuid is used to look the row up; the whole name is then compared.
    length = 64 if directory == "images" else 36
    stems = [name.rsplit("/", 1)[1][:length] for name in names]
    if directory == "images":
        cursor.execute("SELECT file FROM gallery_image WHERE tenant_id IS NOT DISTINCT FROM %s AND sha256 = ANY(%s)",
                       [owner, stems])
    else:
        cursor.execute("SELECT crop FROM gallery_face WHERE uuid::text = ANY(%s)", [stems])
    return {row[0] for row in cursor.fetchall()}


def files_orphaned_delete(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Deletes pictures in storage that no row refers to: originals, crops and probes written by a
    transaction that then rolled back (an import batch that failed to commit, a search inside an
    API request that failed after it), or left by a crash. Files younger than ORPHAN_GRACE are
    left alone, since their transaction may still be running. Returns counts per folder."""
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    found = {"images": 0, "crops": 0, "probes": 0}
    with dangerously_unscoped(reason="finding files no row of any tenant refers to"), connection.cursor() as cursor:
        for directory in found:
            pending: dict[str, list[str]] = {}

            def check(names: list[str]) -> None:
                for name in set(names) - _referenced(cursor, directory=directory, names=names):
                    found[directory] += 1
                    logger.warning("file no row refers to%s: %s", " (dry run)" if dry_run else "", name)
                    if not dry_run:
                        default_storage.delete(name)

            for name in _storage_walk(directory):
                if default_storage.get_modified_time(name) >= cutoff:
                    continue
                folder = "probes" if directory == "probes" else name.split("/")[1]
                if folder != "probes" and folder != "platform" and not folder.isdigit():
                    logger.warning("file outside the gallery layout, left alone: %s", name)
                    continue
                batch = pending.setdefault(folder, [])
                batch.append(name)
                if len(batch) >= 1000:
                    check(pending.pop(folder))
            for batch in pending.values():
                check(batch)
    if any(found.values()) and not dry_run:
        audit_record(action="files.orphans_delete", actor=Actor.system("orphan file sweep"), details=found)
    return found


def probes_purge(*, now: datetime | None = None) -> int:
    """Deletes probe pictures past each tenant's retention and clears Search.probe."""
    from portal.search.models import Search

    now = now or timezone.now()
    purged = 0
    with dangerously_unscoped(reason="purging probes past every tenant's retention"):
        for tenant in Tenant.objects.all():
            cutoff = now - timedelta(days=tenant.probe_retention_days)
            expired = Search.objects.filter(tenant=tenant).exclude(probe="").filter(
                Q(probe_expires_at__lte=now) | Q(created_at__lt=cutoff))
            while True:
                with transaction.atomic():
                    batch = list(expired.select_for_update(skip_locked=True).only("id", "probe")[:500])
                    if not batch:
                        break
                    names = [s.probe.name for s in batch]
                    Search.objects.filter(pk__in=[s.pk for s in batch]).update(probe="")
                    transaction.on_commit(lambda names=names: [default_storage.delete(n) for n in names])
                    purged += len(batch)
            if purged:
                audit_record(action="probe.purge", actor=Actor.system("probe retention"), tenant=tenant,
                             details={"retention_days": tenant.probe_retention_days})
    return purged


def face_index_maintain(*, min_deleted: int = 10_000, force: bool = False) -> dict:
    """VACUUM ANALYZE the face tables after large deletions (pgvector repairs the HNSW graph
    during vacuum), and REINDEX the HNSW index when more than a quarter of it was deleted.
    Runs as the table owner on its own autocommit connection: VACUUM needs both."""
    import psycopg
    from django.conf import settings

    state, _ = MaintenanceState.objects.get_or_create(pk=1)
    if not force and state.faces_deleted_since < min_deleted:
        return {"ran": False, "faces_deleted_since": state.faces_deleted_since}
    owner = settings.DATABASE_OWNER
    params = {"dbname": connection.settings_dict["NAME"], "user": owner["USER"], "password": owner.get("PASSWORD") or None,
              "host": owner.get("HOST") or None, "port": owner.get("PORT") or None}
    reindexed = False
    with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as owner_connection:
        owner_connection.execute("VACUUM (ANALYZE) gallery_face, gallery_image, search_searchmatch, search_search")
        remaining = owner_connection.execute("SELECT count(*) FROM gallery_face").fetchone()[0]
        if state.faces_deleted_since > max(remaining, 1) / 3:
            owner_connection.execute("REINDEX INDEX CONCURRENTLY face_embedding_hnsw")
            reindexed = True
    MaintenanceState.objects.filter(pk=1).update(faces_deleted_since=0, last_run_at=timezone.now())
    return {"ran": True, "faces_deleted_since": state.faces_deleted_since, "reindexed": reindexed}



# --------------------------------------------------------------------------------------------
# Platform administration of tenants (audited)
# --------------------------------------------------------------------------------------------

def platform_tenant_create(*, actor: Actor, slug: str, name: str, kind: str, home_country: str,
                           may_search_platform_index: bool = False, case_reference_required: bool = True,
                           probe_retention_days: int = 30) -> Tenant:
    from tenants.services import tenant_create

    with transaction.atomic():
        tenant = tenant_create(slug=slug, name=name, kind=kind, home_country=home_country,
                               may_search_platform_index=may_search_platform_index,
                               case_reference_required=case_reference_required,
                               probe_retention_days=probe_retention_days)
        audit_record(action="tenant.create", actor=actor, tenant=tenant, target_type="tenant", target_id=tenant.pk,
                     details={"slug": slug, "kind": kind, "home_country": tenant.home_country})
    return tenant


def platform_tenant_update(*, actor: Actor, tenant: Tenant, status: str | None = None,
                           may_search_platform_index: bool | None = None, case_reference_required: bool | None = None,
                           probe_retention_days: int | None = None) -> Tenant:
    """Suspends or reactivates a tenant and sets its entitlements."""
    changes = {}
    for name, value in (("status", status), ("may_search_platform_index", may_search_platform_index),
                        ("case_reference_required", case_reference_required),
                        ("probe_retention_days", probe_retention_days)):
        if value is not None and getattr(tenant, name) != value:
            changes[name] = {"from": getattr(tenant, name), "to": value}
            setattr(tenant, name, value)
    if status is not None and status not in Tenant.Status.values:
        raise OrderInvalid("Unknown status.", field="status")
    if probe_retention_days is not None and not 1 <= probe_retention_days <= 3650:
        raise OrderInvalid("Retention is between 1 and 3650 days.", field="probe_retention_days")
    if not changes:
        return tenant
    with transaction.atomic():
        tenant.save(update_fields=list(changes))
        action = "tenant.suspend" if changes.get("status", {}).get("to") == Tenant.Status.SUSPENDED else (
            "tenant.reactivate" if "status" in changes else "tenant.entitlements")
        audit_record(action=action, actor=actor, tenant=tenant, target_type="tenant", target_id=tenant.pk,
                     details=changes)
    return tenant


def staff_token_create(*, user, name: str, actor: Actor):
    """A platform API token for a staff user; returns (token, secret) and the secret is shown once."""
    import hashlib
    import secrets

    from portal.compliance.models import StaffApiToken

    if not user.is_staff:
        raise OrderInvalid("Only platform operators get platform API tokens.", field="user")
    prefix = secrets.token_hex(4)
    secret = f"pst_{prefix}_{secrets.token_urlsafe(24)}"
    with transaction.atomic():
        token = StaffApiToken.objects.create(user=user, name=name[:100], prefix=prefix,
                                             secret_hash=hashlib.sha256(secret.encode()).hexdigest())
        audit_record(action="platform_token.create", actor=actor, target_type="platform_token", target_id=token.pk,
                     details={"name": token.name, "prefix": prefix, "user_id": user.pk})
    return token, secret


def staff_token_revoke(*, token, actor: Actor) -> None:
    with transaction.atomic():
        type(token).objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(action="platform_token.revoke", actor=actor, target_type="platform_token", target_id=token.pk)

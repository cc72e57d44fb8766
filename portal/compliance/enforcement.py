"""Enforcement: deleting what an order covers, in batches, then handing over to verification.

Each batch deletes rows and adds to the counters in one transaction, so a worker killed at any
point restarts from what is left and never counts twice. Files are recorded in the batch's
transaction and removed from storage after it commits; a crash in between leaves the record for
the next run.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.compliance import coverage
from portal.compliance.certificates import order_verify
from portal.compliance.errors import OrderStateError
from portal.compliance.models import OrderFileDeletion, OrderTenantProgress, RegulatoryOrder
from portal.compliance.orders import coverage_withhold, order_cause
from portal.gallery.maintenance import faces_deleted_note
from portal.gallery.partitions import face_partition_name
from portal.gallery.signals import faces_deleted, gallery_erased
from tenants.context import dangerously_unscoped, scope_connection, scope_on_commit
from django.utils.translation import gettext as _

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind


@dataclass
class _Tally:
    by_gallery: dict

    def add(self, tenant_id: int | None, kind: str, n: int = 1) -> None:
        gallery = self.by_gallery.setdefault(tenant_id, {})
        gallery[kind] = gallery.get(kind, 0) + n


def _tally_persist(*, order: RegulatoryOrder, tally: _Tally, dead_rows: bool = True) -> None:
    """Adds a batch's counts to the order and its per-gallery rows, in the batch's transaction.
    `dead_rows` False: the faces went with their dropped partition, leaving nothing to vacuum."""
    order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
    for tenant_id, counts in tally.by_gallery.items():
        progress, _created = OrderTenantProgress.objects.select_for_update().get_or_create(order=order, tenant_id=tenant_id)
        progress.deleted = {k: progress.deleted.get(k, 0) + counts.get(k, 0) for k in {*progress.deleted, *counts}}
        progress.save(update_fields=["deleted"])
        for kind, n in counts.items():
            order.deleted[kind] = order.deleted.get(kind, 0) + n
    order.save(update_fields=["deleted"])
    if dead_rows:
        faces_deleted_note(count=sum(counts.get("faces", 0) for counts in tally.by_gallery.values()))


def _files_track(*, order: RegulatoryOrder, files: list[tuple[str, str]]) -> None:
    OrderFileDeletion.objects.bulk_create(OrderFileDeletion(order=order, path=path, kind=kind)
                                          for path, kind in files if path)


@dangerously_unscoped(reason="platform code: order_files_finish")
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


def _partition_drop(*, order: RegulatoryOrder, batch_size: int) -> int:
    """Offboarding: one offboarded tenant's faces at once, by dropping the tenant's partition of
    the face table (portal/gallery/partitions.py) after counting them, recording their crops and
    deleting their matches, in one transaction; an empty partition takes its place. Returns 1 per
    partition dropped, 0 when no offboarded tenant has a face left; the tenant's pictures, probes
    and subjects then go as for any order."""
    if order.kind != Kind.OFFBOARDING:
        return 0
    with dangerously_unscoped(reason=f"offboarding order {order.pk}"), scope_connection().cursor() as cursor:
        for tenant_id in order.offboard_tenant_ids:
            partition = face_partition_name(tenant_id=tenant_id)
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition])
            if not cursor.fetchone()[0]:
                continue
            cursor.execute(f"SELECT crop, uuid FROM {partition}")
            faces = cursor.fetchall()
            if not faces:
                continue  # already dropped (the empty partition that replaced it), or never held any
            tally = _Tally({})
            _files_track(order=order, files=[(crop, "crop") for crop, _uuid in faces])
            cursor.execute(f"DELETE FROM search_searchmatch WHERE face_id IN (SELECT id FROM {partition})"
                           f" RETURNING tenant_id")
            for (match_tenant_id,) in cursor.fetchall():
                tally.add(match_tenant_id, "matches")
            tally.add(tenant_id, "faces", len(faces))
            tally.add(tenant_id, "crops", sum(1 for crop, _uuid in faces if crop))
            for owner_id, forgotten in _faces_deleted_send(order=order,
                                                           face_uuids=[str(uuid) for _crop, uuid in faces]).items():
                tally.add(owner_id, "cached_responses", forgotten)
            cursor.execute("SELECT portal_face_partition_drop(%s)", [tenant_id])
            _tally_persist(order=order, tally=tally, dead_rows=False)
            scope_on_commit(lambda: order_files_finish(order=order))
            return 1
    return 0


def _images_batch_delete(*, order: RegulatoryOrder, batch_size: int) -> int:
    """One batch: covered images with their faces, crops and matches. Returns images deleted."""
    images = coverage.image_predicate(order=order)
    tally = _Tally({})
    with dangerously_unscoped(reason=f"enforcing order {order.pk} across tenants"), scope_connection().cursor() as cursor:
        cursor.execute(f"SELECT i.id, i.tenant_id, i.file, i.thumbnail FROM gallery_image i WHERE {images.sql}"
                       f" ORDER BY i.id LIMIT %s FOR UPDATE SKIP LOCKED", [*images.params, batch_size])
        rows = cursor.fetchall()
        if not rows:
            return 0
        image_ids = [row[0] for row in rows]
        cursor.execute("SELECT id, tenant_id, crop, uuid FROM gallery_face WHERE image_id = ANY(%s)", [image_ids])
        faces = cursor.fetchall()
        face_ids = [row[0] for row in faces]
        _files_track(order=order, files=[(row[2], "original") for row in rows] + [(row[3], "thumbnail") for row in rows]
                     + [(row[2], "crop") for row in faces])
        cursor.execute("DELETE FROM search_searchmatch WHERE face_id = ANY(%s) RETURNING tenant_id", [face_ids])
        for (tenant_id,) in cursor.fetchall():
            tally.add(tenant_id, "matches")
        cursor.execute("DELETE FROM gallery_face WHERE id = ANY(%s) RETURNING tenant_id, crop", [face_ids])
        for tenant_id, crop in cursor.fetchall():
            tally.add(tenant_id, "faces")
            if crop:
                tally.add(tenant_id, "crops")
        cursor.execute("DELETE FROM gallery_image WHERE id = ANY(%s) RETURNING tenant_id, file, thumbnail", [image_ids])
        for tenant_id, file, thumbnail in cursor.fetchall():
            tally.add(tenant_id, "images")
            if file:
                tally.add(tenant_id, "originals")
            if thumbnail:
                tally.add(tenant_id, "thumbnails")
        for tenant_id, forgotten in _faces_deleted_send(order=order, face_uuids=[str(row[3]) for row in faces]).items():
            tally.add(tenant_id, "cached_responses", forgotten)
        _tally_persist(order=order, tally=tally)
        scope_on_commit(lambda: order_files_finish(order=order))
    return len(rows)


def _copies_removed(responses) -> dict:
    """Sums what the receivers of a gallery signal removed ({tenant id: copies}) per gallery."""
    removed: dict = {}
    for _receiver, result in responses:
        for tenant_id, n in (result or {}).items():
            removed[tenant_id] = removed.get(tenant_id, 0) + n
    return removed


def _faces_deleted_send(*, order: RegulatoryOrder, face_uuids: list[str]) -> dict:
    """Tells other apps the faces are going, in the batch's transaction (gallery.signals)."""
    return _copies_removed(faces_deleted.send(sender=RegulatoryOrder, face_uuids=face_uuids,
                                              cause=order_cause(order)))


def _probes_batch_delete(*, order: RegulatoryOrder, batch_size: int) -> int:
    """One batch of covered probes: a subject order clears the probe picture and embedding and
    deletes its matches (the search record stays); offboarding deletes the tenant's searches."""
    probes = coverage.probe_predicate(order=order)
    if probes is None:
        return 0
    tally = _Tally({})
    offboarding = order.kind == Kind.OFFBOARDING
    with dangerously_unscoped(reason=f"enforcing order {order.pk} on probes"), scope_connection().cursor() as cursor:
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
        scope_on_commit(lambda: order_files_finish(order=order))
    return len(rows)


def _subjects_delete(*, order: RegulatoryOrder) -> None:
    if order.kind != Kind.OFFBOARDING:
        return
    tally = _Tally({})
    with dangerously_unscoped(reason=f"offboarding order {order.pk}"), scope_connection().cursor() as cursor:
        cursor.execute("DELETE FROM gallery_subject WHERE tenant_id = ANY(%s) RETURNING tenant_id",
                       [list(order.offboard_tenant_ids)])
        for (tenant_id,) in cursor.fetchall():
            tally.add(tenant_id, "subjects")
        erased = gallery_erased.send(sender=RegulatoryOrder, tenant_ids=list(order.offboard_tenant_ids))
        for tenant_id, n in _copies_removed(erased).items():
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
            raise OrderStateError(_("A draft order is not in force; activate it first."))
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
        coverage_withhold(order=order)
    with dangerously_unscoped(reason="finishing an interrupted run's file deletions"):
        order_files_finish(order=order)

    batches = 0
    for step in (_partition_drop, _images_batch_delete, _probes_batch_delete):
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

"""`manage.py restore`: a backup back into live use, with everything decided since re-applied.

The ICO accepts deleted data lingering in backups only while it is put beyond use and never
restored into live use. So a restore, before the portal serves anything:

1. checks the backup against its manifest and the enforcement journal's hash chain;
2. sets the restore marker (RESTORE_MARKER): while it exists every request gets a 503 and the
   system check `portal.E006` stops `run_portal`;
3. replaces the database (pg_restore, as the owner) and the media folder;
4. applies again every journal entry written after the backup (and the ten minutes before it,
   for a change whose transaction committed after the dump's snapshot): orders put in force,
   pictures tenants deleted, opt-outs;
5. enforces every order in force to the end and verifies, as order certificates do, that nothing
   covered remains in rows or files, and that no deleted picture came back;
6. only then removes the marker. A failed step leaves it, so the portal stays shut.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone

from portal.audit.journal import JournalBroken, JournalEntry, journal_entries
from portal.audit.services import Actor, audit_record
from portal.compliance import coverage
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import OptOut, OptOutEmbedding, OrderFileDeletion, RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.core.backups import BackupFailed, DATABASE_FILE, MEDIA_FILE, manifest_read, owner_environment, pg_tool
from portal.gallery.models import Image
from portal.gallery.services import image_delete
from portal.runtime.database import database_drop, database_name_use, owner_psycopg_connect
from portal.sealing import unseal
from tenants.context import dangerously_unscoped
from tenants.models import Tenant

JOURNAL_OVERLAP = timedelta(minutes=10)
Status = RegulatoryOrder.Status


class RestoreIncomplete(BackupFailed):
    code = "restore_incomplete"


@dataclass
class RestoreReport:
    backup: str
    database: str
    entries_applied: int = 0
    orders_activated: list[str] = field(default_factory=list)
    images_deleted: int = 0
    opt_outs_restored: int = 0
    orders_verified: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def restore_marker_set(*, text: str) -> None:
    marker = Path(settings.RESTORE_MARKER)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(text)


def restore_pending() -> str | None:
    """What the unfinished restore's marker says, or None when the portal may serve."""
    marker = Path(settings.RESTORE_MARKER)
    return marker.read_text() if marker.exists() else None


def restore_run(*, folder: Path, actor: Actor, database: str | None = None) -> RestoreReport:
    """Restores `folder` into `database` (the portal's own by default) and the media folder, and
    re-applies the journal; RestoreIncomplete (marker left) when anything covered remains."""
    manifest = manifest_read(folder=folder)
    try:
        entries = list(journal_entries())
    except JournalBroken as error:
        raise BackupFailed(f"The enforcement journal is broken, so nothing decided since the backup could be "
                           f"applied again: {error}") from None
    taken_at = datetime.fromisoformat(manifest["taken_at"])
    due = [e for e in entries if e.seq > manifest["journal"]["seq"]
           or datetime.fromisoformat(e.at) >= taken_at - JOURNAL_OVERLAP]
    target = database or connections["default"].settings_dict["NAME"]
    restore_marker_set(text=f"restore of {folder} into {target} started {timezone.now().isoformat()}\n")
    _database_replace(dump=folder / DATABASE_FILE, database=target)
    _media_replace(tarball=folder / MEDIA_FILE)
    report = RestoreReport(backup=str(folder), database=target)
    with database_name_use(target):
        for entry in due:
            _entry_apply(entry=entry, actor=actor, report=report)
        report.entries_applied = len(due)
        _orders_finish(actor=actor, report=report)
        report.problems += _verify(entries=due)
        with dangerously_unscoped(reason="auditing a restore"):
            audit_record(action="backup.restore" if not report.problems else "backup.restore_incomplete",
                         actor=actor, target_type="backup", target_id=folder.name,
                         details={"taken_at": manifest["taken_at"], "journal_entries_applied": report.entries_applied,
                                  "orders_activated": report.orders_activated, "images_deleted": report.images_deleted,
                                  "problems": report.problems[:20]})
    if report.problems:
        raise RestoreIncomplete("The restore is incomplete and the portal stays shut: "
                                + "; ".join(report.problems[:5]))
    Path(settings.RESTORE_MARKER).unlink(missing_ok=True)
    return report


def _database_replace(*, dump: Path, database: str) -> None:
    connections.close_all()
    owner = connections["default"].ops.quote_name(database)
    with owner_psycopg_connect(dbname="postgres") as admin:
        database_drop(admin.cursor(), name=database)
        admin.execute(f"CREATE DATABASE {owner}")
    arguments, environment = owner_environment(database=database)
    restored = subprocess.run([pg_tool("pg_restore"), *arguments, "--exit-on-error", "--single-transaction",
                               str(dump)], env=environment, capture_output=True, text=True)
    if restored.returncode != 0:
        raise RestoreIncomplete(f"pg_restore failed: {restored.stderr.strip()}")


def _media_replace(*, tarball: Path) -> None:
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists():
        shutil.rmtree(media_root)
    media_root.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if member.name == "media" or not member.name.startswith("media/"):
                continue
            member.name = member.name[len("media/"):]
            tar.extract(member, media_root, filter="data")


def _entry_apply(*, entry: JournalEntry, actor: Actor, report: RestoreReport) -> None:
    data = entry.data
    if entry.kind == "optout.create":
        _opt_out_restore(data=data, report=report)
    elif entry.kind == "order.activate":
        _order_restore(data=data, actor=actor, report=report)
    elif entry.kind == "image.delete":
        with dangerously_unscoped(reason="restore: a picture its tenant deleted after the backup"):
            tenant = Tenant.objects.filter(pk=data["tenant_id"]).first() if data["tenant_id"] else None
            images = list(Image.objects.filter(tenant_id=data["tenant_id"], sha256=data["sha256"]))
        if data["tenant_id"] and tenant is None:
            return  # the tenant is gone, and its pictures with it
        for image in images:
            image_delete(tenant=tenant, image=image, actor=actor)
            report.images_deleted += 1
    else:
        report.problems.append(f"journal entry {entry.seq} has an unknown kind {entry.kind!r}")


def _opt_out_restore(*, data: dict, report: RestoreReport) -> None:
    with dangerously_unscoped(reason="restore: an opt-out received after the backup"):
        if OptOut.objects.filter(public_id=data["public_id"]).exists():
            return
        full_name, _, contact = unseal(data["identity"], purpose="journal.optout").decode().partition("\n")
        opt_out = OptOut.objects.create(
            public_id=data["public_id"], full_name=full_name, contact=contact, region=data["region"],
            consent_given_at=datetime.fromisoformat(data["consent_given_at"]), channel=data["channel"],
            match_threshold=data["match_threshold"], notes="Restored from the enforcement journal.")
        OptOutEmbedding.objects.bulk_create(
            OptOutEmbedding(opt_out=opt_out, embedding=e, picture_sha256=sha)
            for e, sha in zip(data["embeddings"], data["picture_sha256"]))
    report.opt_outs_restored += 1


def _order_restore(*, data: dict, actor: Actor, report: RestoreReport) -> None:
    with dangerously_unscoped(reason="restore: an order put in force after the backup"):
        order = RegulatoryOrder.objects.filter(reference=data["reference"]).first()
        if order is not None and order.status != Status.DRAFT:
            return
        opt_out = OptOut.objects.filter(public_id=data["opt_out_public_id"]).first() \
            if data["opt_out_public_id"] else None
        if order is None:
            order = order_create(
                actor=actor, kind=data["kind"], authority=data["authority"], reference=data["reference"],
                description=data["description"], received_on=datetime.fromisoformat(data["received_on"]).date(),
                effective_at=datetime.fromisoformat(data["effective_at"]),
                deadline=datetime.fromisoformat(data["deadline"]).date(), regions=data["regions"],
                include_unknown_region=data["include_unknown_region"], domains=data["domains"],
                reference_embeddings=[np.asarray(e, dtype=np.float32) for e in data["reference_embeddings"]],
                match_threshold=data["match_threshold"],
                offboard_tenants=list(Tenant.objects.filter(pk__in=data["offboard_tenant_ids"])),
                scope_all=data["scope_all"], scope_tenants=list(Tenant.objects.filter(pk__in=data["scope_tenant_ids"])),
                scope_platform_index=data["scope_platform_index"], opt_out=opt_out)
        if opt_out is not None and opt_out.status == OptOut.Status.RECEIVED:
            OptOut.objects.filter(pk=opt_out.pk).update(status=OptOut.Status.ENFORCING)
    order_activate(order=order, actor=actor)
    report.orders_activated.append(order.reference)


def _orders_finish(*, actor: Actor, report: RestoreReport) -> None:
    """Every order in force enforced to the end and verified in the restored database."""
    with dangerously_unscoped(reason="restore: enforcing every order in force"):
        orders = list(RegulatoryOrder.objects.exclude(status=Status.DRAFT).order_by("id"))
    for order in orders:
        with dangerously_unscoped(reason="restore: what an order still covers"):
            remaining = any(coverage.coverage_totals(coverage.coverage_count(order=order)).values())
        if remaining or order.status != Status.VERIFIED or order.reference in report.orders_activated:
            order = order_enforce(order=order, actor=actor, batch_size=settings.ENFORCEMENT_BATCH_SIZE)
        if order.status == Status.VERIFIED:
            report.orders_verified.append(order.reference)
        else:
            report.problems.append(f"order {order.reference} is {order.status}, not verified")


def _verify(*, entries: list[JournalEntry]) -> list[str]:
    """What remains that must not: the certificates' check for every order, plus the pictures
    tenants deleted and the opt-outs received since the backup."""
    problems = []
    with dangerously_unscoped(reason="restore: verifying nothing covered remains"):
        for order in RegulatoryOrder.objects.exclude(status=Status.DRAFT).order_by("id"):
            remaining = coverage.coverage_totals(coverage.coverage_count(order=order))
            if any(remaining.values()):
                problems.append(f"order {order.reference} still covers {remaining}")
        tracked = OrderFileDeletion.objects.all()
        if tracked.filter(deleted_at__isnull=True).exists():
            problems.append("file deletions of an order are pending")
        back = [p for p in tracked.values_list("path", flat=True).iterator(chunk_size=5000) if default_storage.exists(p)]
        if back:
            problems.append(f"{len(back)} file(s) an order deleted are in the media folder, e.g. {back[0]}")
        for entry in entries:
            if entry.kind == "image.delete":
                owner = entry.data["tenant_id"] or "platform"
                if Image.objects.filter(tenant_id=entry.data["tenant_id"], sha256=entry.data["sha256"]).exists():
                    problems.append(f"a picture deleted after the backup is back ({entry.data['sha256'][:12]})")
                folder = Path(settings.MEDIA_ROOT) / "images" / str(owner) / entry.data["sha256"][:2]
                if folder.exists() and any(folder.glob(entry.data["sha256"] + ".*")):
                    problems.append(f"the file of a picture deleted after the backup is back ({entry.data['sha256'][:12]})")
            elif entry.kind == "optout.create" and not OptOut.objects.filter(
                    public_id=entry.data["public_id"]).exists():
                problems.append(f"opt-out {entry.data['public_id']} is missing")
    return problems

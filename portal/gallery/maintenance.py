"""Keeping the gallery's storage and index healthy: files no row refers to, and the face index
after large deletions (both run by Celery beat, portal/gallery/tasks.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db.models import F
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.gallery.face_index import FACE_INDEX_NAME
from portal.gallery.models import MaintenanceState
from portal.runtime.database import owner_psycopg_connect
from tenants.context import dangerously_unscoped, scope_connection

logger = logging.getLogger(__name__)


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
        # A picture's thumbnail lies beside it ("<sha256>.thumb.jpg"): either column keeps a file.
        cursor.execute("SELECT file, thumbnail FROM gallery_image WHERE tenant_id IS NOT DISTINCT FROM %s"
                       " AND sha256 = ANY(%s)", [owner, stems])
        return {name for row in cursor.fetchall() for name in row if name}
    else:
        cursor.execute("SELECT crop FROM gallery_face WHERE uuid::text = ANY(%s)", [stems])
    return {row[0] for row in cursor.fetchall()}


def files_orphaned_delete(*, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Deletes pictures in storage that no row refers to: originals, thumbnails, crops and probes written by a
    transaction that then rolled back (an import batch that failed to commit, a search inside an
    API request that failed after it), or left by a crash. Files younger than ORPHAN_GRACE are
    left alone, since their transaction may still be running. Returns counts per folder."""
    cutoff = (now or timezone.now()) - ORPHAN_GRACE
    found = {"images": 0, "crops": 0, "probes": 0}
    with dangerously_unscoped(reason="finding files no row of any tenant refers to"), scope_connection().cursor() as cursor:
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


def faces_deleted_note(*, count: int) -> None:
    """Adds to the faces deleted since the last maintenance, in the deleting transaction."""
    if count:
        MaintenanceState.objects.get_or_create(pk=1)
        MaintenanceState.objects.filter(pk=1).update(faces_deleted_since=F("faces_deleted_since") + count)


def face_index_maintain(*, min_deleted: int = 10_000, force: bool = False) -> dict:
    """VACUUM ANALYZE the face tables after large deletions (pgvector repairs the HNSW graph
    during vacuum), and REINDEX the HNSW index when more than a quarter of it was deleted.
    Runs as the table owner on its own autocommit connection: VACUUM needs both."""
    state, _created = MaintenanceState.objects.get_or_create(pk=1)
    if not force and state.faces_deleted_since < min_deleted:
        return {"ran": False, "faces_deleted_since": state.faces_deleted_since}
    reindexed = False
    with owner_psycopg_connect() as owner:
        owner.execute("VACUUM (ANALYZE) gallery_face, gallery_image, search_searchmatch, search_search")
        remaining = owner.execute("SELECT count(*) FROM gallery_face").fetchone()[0]
        if state.faces_deleted_since > max(remaining, 1) / 3:
            owner.execute(f"REINDEX INDEX CONCURRENTLY {FACE_INDEX_NAME}")
            reindexed = True
    MaintenanceState.objects.filter(pk=1).update(faces_deleted_since=0, last_run_at=timezone.now())
    return {"ran": True, "faces_deleted_since": state.faces_deleted_since, "reindexed": reindexed}

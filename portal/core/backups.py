"""`manage.py backup`: the database (pg_dump, as the owner), the media folder and a manifest.

A backup holds whatever was there when it was taken, including what an order, an erasure or an
opt-out later deletes. It is kept BACKUP_RETENTION_DAYS and never served: the only way back into
live use is `manage.py restore` (portal/core/restores.py), which applies again everything the
enforcement journal recorded since, before the portal serves anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from portal.audit.journal import journal_head
from portal.audit.services import Actor, audit_heads, audit_record
from portal.errors import DomainError
from tenants.context import dangerously_unscoped

MANIFEST = "manifest.json"
DATABASE_FILE = "database.dump"
MEDIA_FILE = "media.tar"
FORMAT = "portal-backup/1"


class BackupFailed(DomainError):
    code = "backup_failed"


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the embedded PostgreSQL's own (the same major version as the server),
    or, with DATABASE_URL to an external server, the PATH's."""
    if settings.EMBEDDED_SERVICES:
        from portal.runtime.embedded import pg_bin

        return pg_bin(name)
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"{name} is not on the PATH; install the PostgreSQL client of the server's version.")
    return found


def owner_environment(*, database: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for the PostgreSQL tools, as the table owner.

    Tenant tables FORCE row-level security, so even their owner passes the policies; the owner's
    session is unscoped when it sets `portal.scope` to all (tenants/0010: portal_session_is_owner),
    so the tools run with --enable-row-security and that setting and see and write every row."""
    owner = settings.DATABASE_OWNER
    arguments = ["-h", owner.get("HOST") or "127.0.0.1", "-p", str(owner.get("PORT") or 5432),
                 "-U", owner["USER"], "-d", database, "--enable-row-security"]
    environment = {**os.environ, "PGPASSWORD": owner.get("PASSWORD") or "",
                   "PGOPTIONS": " ".join(filter(None, [os.environ.get("PGOPTIONS", ""), "-c portal.scope=all"]))}
    return arguments, environment


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _portal_version() -> dict:
    """The code and the schema the backup was taken with: a restore needs this code's migrations."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True)
    applied: dict[str, str] = {}
    for app, name in MigrationRecorder(connections["default"]).migration_qs.order_by("id").values_list("app", "name"):
        applied[app] = name
    return {"commit": head.stdout.strip() if head.returncode == 0 else "", "migrations": applied}


def backup_create(*, destination: Path | None = None, actor: Actor) -> Path:
    """Writes a backup folder (database dump, media tarball, manifest) and returns it."""
    started = timezone.now()
    folder = Path(destination or settings.BACKUP_DIR) / started.strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(parents=True, exist_ok=False)
    # The journal's head before the dump starts: every entry after it may be missing from the dump.
    journal_seq, journal_hash = journal_head()
    database = connections["default"].settings_dict["NAME"]
    arguments, environment = owner_environment(database=database)
    dumped = subprocess.run([pg_tool("pg_dump"), *arguments, "--format=custom", "--no-comments",
                             "--file", str(folder / DATABASE_FILE)], env=environment, capture_output=True, text=True)
    if dumped.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise BackupFailed(f"pg_dump failed: {dumped.stderr.strip()}")
    media_root = Path(settings.MEDIA_ROOT)
    with tarfile.open(folder / MEDIA_FILE, "w") as tar:
        if media_root.exists():
            tar.add(media_root, arcname="media")
    with dangerously_unscoped(reason="a backup records every audit chain's head"):
        heads = {("platform" if tenant_id is None else str(tenant_id)): {"position": head.position, "hash": head.hash}
                 for tenant_id, head in audit_heads().items()}
    retention = settings.BACKUP_RETENTION_DAYS
    manifest = {
        "format": FORMAT, "taken_at": started.isoformat(), "database": database,
        "database_sha256": file_sha256(folder / DATABASE_FILE), "media_sha256": file_sha256(folder / MEDIA_FILE),
        "audit_heads": heads, "journal": {"seq": journal_seq, "hash": journal_hash},
        "portal": _portal_version(), "retention_days": retention,
        "expires_at": (started + timedelta(days=retention)).isoformat(),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with dangerously_unscoped(reason="auditing a backup"):
        audit_record(action="backup.create", actor=actor, target_type="backup", target_id=folder.name,
                     details={"journal_seq": journal_seq, "database_sha256": manifest["database_sha256"],
                              "media_sha256": manifest["media_sha256"], "retention_days": retention})
    return folder


def manifest_read(*, folder: Path) -> dict:
    """The manifest, once the dump and the tarball match its checksums."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupFailed(f"{folder} has no readable {MANIFEST}: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupFailed(f"{folder} is not a backup of this portal ({manifest.get('format')!r}).")
    for name, key in ((DATABASE_FILE, "database_sha256"), (MEDIA_FILE, "media_sha256")):
        if not (folder / name).exists() or file_sha256(folder / name) != manifest[key]:
            raise BackupFailed(f"{folder / name} is missing or does not match the manifest's checksum.")
    return manifest

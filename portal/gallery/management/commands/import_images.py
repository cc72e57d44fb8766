"""`import_images`: a folder or a CSV manifest of pictures into a tenant's gallery or the platform index.

Pictures are detected in batches outside any transaction (the engine is the slow part), then each
batch is written in one short transaction, so the audit chain's lock is never held while the
engine runs. A bad or refused picture is reported and skipped; the batch goes on.

With --workers N above 1, N worker processes (portal/gallery/ingest_workers.py) decode, detect and
embed, one batch ahead of this process, which writes each batch exactly as with one worker.
Ctrl-C stops after the pictures being detected: written batches stay, the batch being written is
rolled back, and the report says how far the import went.
"""

from __future__ import annotations

import csv
import hashlib
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, time, timezone as dt_timezone
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from portal.audit.services import Actor
from portal.errors import DomainError
from portal.faces.engine import DetectionResult
from portal.gallery.gates import IngestRefused
from portal.gallery.ingest_workers import Detected, DetectionPool, cores_available, picture_detect
from portal.gallery.models import Image, LegalBasis, Subject
from portal.gallery.services import gallery_scope, image_ingest, subject_create
from tenants.context import scope_atomic
from tenants.models import Tenant

PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MANIFEST_COLUMNS = ("path", "source_url", "region", "legal_basis", "collected_at", "subject")
ACTOR = Actor.system("command: import_images")


@dataclass
class Entry:
    """One picture to import, with the provenance its manifest row (or the defaults) gives."""

    path: Path
    name: str
    legal_basis: str
    source_url: str = ""
    region: str | None = None
    collected_at: str = ""
    subject: str = ""
    data: bytes = b""
    sha256: str = ""
    detection: DetectionResult | None = None
    detected: Future | None = None  # the worker's Detected, while a worker has the picture
    held: bool = False  # the gallery holds these bytes: written without detection, for new evidence


@dataclass
class Tally:
    imported: int = 0
    already_there: int = 0
    new_evidence: int = 0
    refused: int = 0
    failed: int = 0
    faces: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.imported += other.imported
        self.already_there += other.already_there
        self.new_evidence += other.new_evidence
        self.refused += other.refused
        self.failed += other.failed
        self.faces += other.faces


class EntryFailed(DomainError):
    """A manifest line that cannot be read (a missing file, a bad date)."""


class Command(BaseCommand):
    help = ("Imports pictures (JPEG, PNG, WebP) from a folder, recursively, or from a CSV manifest with the "
            "columns path, source_url, region, legal_basis, collected_at, subject (paths relative to the "
            "CSV's folder), into a tenant's gallery or the platform index. Re-running skips what is there.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="A folder of pictures, one picture, or a CSV manifest.")
        gallery = parser.add_mutually_exclusive_group(required=True)
        gallery.add_argument("--tenant", metavar="SLUG", help="Into this tenant's own gallery.")
        gallery.add_argument("--platform", action="store_true", help="Into the operator's platform index.")
        parser.add_argument("--legal-basis", choices=LegalBasis.values,
                            help="Legal basis for every picture of a folder, or for manifest rows that give none.")
        parser.add_argument("--source-url", default="", help="Source URL for every picture of a folder.")
        parser.add_argument("--region", default=None, help="Declared region (ISO 3166) for every picture of a folder.")
        parser.add_argument("--batch-size", type=int, default=20, help="Pictures written per transaction.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument("--workers", type=int, default=cores_available(),
                            help="Processes that detect faces, each with the model loaded once "
                                 "(default: this machine's cores). 1 detects in this process.")

    def handle(self, *args, source, tenant, platform, legal_basis, source_url, region, batch_size, no_progress,
               workers, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        gallery = None if platform else self._tenant(tenant)
        path = Path(source)
        picture = path.is_file() and path.suffix.lower() in PICTURE_SUFFIXES
        if path.is_dir() or picture:
            if not legal_basis:
                raise CommandError(f"A {'picture' if picture else 'folder'} import needs --legal-basis (one of "
                                   + ", ".join(LegalBasis.values) + ").")
            pictures = [path] if picture else _pictures_in(path)
            entries = [Entry(path=p, name=p.name if picture else str(p.relative_to(path)), legal_basis=legal_basis,
                             source_url=source_url, region=region) for p in pictures]
        elif path.is_file():
            entries = _manifest_read(path=path, legal_basis=legal_basis, platform=platform)
        else:
            raise CommandError(f"{source} is neither a folder, a picture nor a CSV manifest.")

        tally = Tally()
        subjects: dict[str, Subject] = {}
        bar = tqdm(total=len(entries), unit="picture", disable=True if no_progress else None,
                   desc=f"Importing into {gallery.slug if gallery else 'the platform index'}")
        # One worker detects in this process, as before workers existed; more start a pool.
        pool = DetectionPool(workers=min(workers, len(entries))) if workers > 1 and len(entries) > 1 else None
        batches = [entries[start:start + batch_size] for start in range(0, len(entries), batch_size)]
        done, interrupted = 0, False
        try:
            ahead: list[Entry] | None = None
            for batch in batches:
                # The next batch goes to the workers before this process writes the last one.
                self._batch_detect_start(batch=batch, tenant=gallery, tally=tally, pool=pool)
                if ahead is not None:
                    done += self._batch_import(batch=ahead, tenant=gallery, tally=tally, subjects=subjects, bar=bar)
                ahead = batch
            if ahead is not None:
                done += self._batch_import(batch=ahead, tenant=gallery, tally=tally, subjects=subjects, bar=bar)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
            if pool is not None:
                pool.close(cancel=True)
            if interrupted:
                for entry in entries:
                    entry.data, entry.detection, entry.detected = b"", None, None
        self.stdout.write(
            f"Imported {tally.imported} picture(s) with {tally.faces} face(s); {tally.already_there} already there; "
            f"new evidence recorded on {tally.new_evidence}; "
            f"{tally.refused} refused; {tally.failed} failed."
        )
        if interrupted:
            raise CommandError(f"Stopped by Ctrl-C: {len(entries) - done} of {len(entries)} picture(s) not "
                               f"processed (the batch being written was rolled back). Re-run to finish: what is "
                               f"there is skipped.", returncode=130)

    def _tenant(self, slug: str) -> Tenant:
        try:
            return Tenant.objects.get(slug=slug)
        except Tenant.DoesNotExist:
            raise CommandError(f"There is no tenant {slug!r}.") from None

    def _report(self, line: str) -> None:
        with tqdm.external_write_mode():
            self.stderr.write(line)

    def _batch_import(self, *, batch: list[Entry], tenant: Tenant | None, tally: Tally,
                      subjects: dict[str, Subject], bar) -> int:
        written = Tally()
        try:
            self._batch_write(batch=batch, tenant=tenant, tally=tally, written=written, subjects=subjects)
        finally:
            # Only two batches' pictures are ever held in memory, whatever happened to them.
            for entry in batch:
                entry.data, entry.detection, entry.detected = b"", None, None
        # Counted once the batch's transaction has committed: an interrupted batch counts nothing.
        tally.add(written)
        bar.update(len(batch))
        return len(batch)

    def _batch_detect_start(self, *, batch: list[Entry], tenant: Tenant | None, tally: Tally,
                            pool: DetectionPool | None) -> None:
        """Reads and hashes the batch, skips what the gallery holds, and hands the rest to the workers
        (with no pool, detection happens when the batch is written)."""
        pending = []
        for entry in batch:
            try:
                entry.data = entry.path.read_bytes()
            except OSError as error:
                self._fail(tally, entry, f"cannot be read: {error.strerror or error}")
                continue
            entry.sha256 = hashlib.sha256(entry.data).hexdigest()
            pending.append(entry)

        # Checked before the engine runs: a re-run costs a hash per picture, not a detection.
        with gallery_scope(tenant=tenant):
            present = set(Image.objects.filter(tenant=tenant, sha256__in=[e.sha256 for e in pending])
                          .values_list("sha256", flat=True))
        seen = set()
        for entry in pending:
            if entry.sha256 in present:
                entry.held = True  # no detection: its provenance may be new evidence (gallery/evidence.py)
                continue
            if entry.sha256 in seen:
                entry.sha256 = ""  # twice in this import: neither detected nor written
                tally.already_there += 1
                continue
            seen.add(entry.sha256)
            entry.detected = pool.submit(entry.data) if pool is not None else None

    def _batch_write(self, *, batch: list[Entry], tenant: Tenant | None, tally: Tally, written: Tally,
                     subjects: dict[str, Subject]) -> None:
        fresh = []
        for entry in batch:
            if not entry.sha256 or not entry.data:
                continue  # unreadable or twice in this import
            if entry.held:
                fresh.append(entry)  # image_ingest records its provenance if new; nothing to detect
                continue
            try:
                detected: Detected = entry.detected.result() if entry.detected is not None else picture_detect(entry.data)
            except Exception as error:  # a worker that died (out of memory, killed)
                detected = Detected(detection=None, problem=f"The detection process failed: {error or type(error).__name__}")
            if detected.detection is None:
                self._fail(tally, entry, detected.problem)
                continue
            entry.detection = detected.detection  # its pixels already cut to thumbnail size
            fresh.append(entry)
        if not fresh:
            return

        with gallery_scope(tenant=tenant), scope_atomic():
            for entry in fresh:
                try:
                    collected_at = _collected_at(entry.collected_at)
                    subject = self._subject(tenant=tenant, label=entry.subject, subjects=subjects)
                    with scope_atomic():
                        result = image_ingest(
                            tenant=tenant, data=entry.data, actor=ACTOR, legal_basis=entry.legal_basis,
                            source_url=entry.source_url, region=entry.region, collected_at=collected_at,
                            subject=subject, detection=entry.detection,
                        )
                except IngestRefused as refusal:
                    written.refused += 1
                    # The reference once: an order's refusal names it already ("... order X.").
                    named = not refusal.reference or refusal.reference in refusal.message
                    self._report(f"REFUSED {entry.name}: {refusal.message}" + ("" if named else f" ({refusal.reference})"))
                    continue
                except DomainError as error:  # a bad picture, provenance, region or manifest line
                    self._fail(written, entry, error.message)
                    continue
                if result.created:
                    written.imported += 1
                    written.faces += len(result.faces)
                elif result.evidence_recorded:
                    written.new_evidence += 1
                    self._report(f"NEW EVIDENCE {entry.name}: provenance recorded on the picture already held"
                                 + (f"; now covered by {result.withheld_by}, withheld" if result.withheld_by else ""))
                else:
                    written.already_there += 1

    def _subject(self, *, tenant: Tenant | None, label: str, subjects: dict[str, Subject]) -> Subject | None:
        label = label.strip()
        if not label:
            return None
        if tenant is None:
            raise EntryFailed("subjects exist only in a tenant's gallery, not in the platform index.")
        if label not in subjects:
            subject = Subject.objects.filter(tenant=tenant, label=label).order_by("id").first()
            subjects[label] = subject or subject_create(tenant=tenant, label=label, actor=ACTOR)
        return subjects[label]

    def _fail(self, tally: Tally, entry: Entry, message: str) -> None:
        tally.failed += 1
        self._report(f"FAILED {entry.name}: {message}")


def _pictures_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)


def _manifest_read(*, path: Path, legal_basis: str | None, platform: bool) -> list[Entry]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            columns = set(rows[0].keys()) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"The manifest {path} cannot be read: {error}") from None
    if rows and "path" not in columns:
        raise CommandError(f"The manifest {path} has no 'path' column (columns: {', '.join(MANIFEST_COLUMNS)}).")
    unknown = columns - set(MANIFEST_COLUMNS)
    if unknown:
        raise CommandError(f"The manifest has unknown column(s) {', '.join(sorted(unknown))}; "
                           f"the columns are {', '.join(MANIFEST_COLUMNS)}.")
    if not legal_basis and any(not (row.get("legal_basis") or "").strip() for row in rows):
        raise CommandError("Some manifest rows give no legal_basis: add the column or pass --legal-basis.")
    if platform and any((row.get("subject") or "").strip() for row in rows):
        raise CommandError("The manifest names subjects, which exist only in a tenant's gallery (use --tenant).")
    folder = path.parent
    return [
        Entry(path=folder / row["path"].strip(), name=row["path"].strip(),
              legal_basis=(row.get("legal_basis") or "").strip() or legal_basis,
              source_url=(row.get("source_url") or "").strip(), region=(row.get("region") or "").strip() or None,
              collected_at=(row.get("collected_at") or "").strip(), subject=(row.get("subject") or "").strip())
        for row in rows
    ]


def _collected_at(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            moment = datetime.combine(day, time.min) if day else None
    except ValueError:
        moment = None
    if moment is None:
        raise EntryFailed(f"collected_at {value!r} is not an ISO 8601 date or date and time.")
    return timezone.make_aware(moment, dt_timezone.utc) if timezone.is_naive(moment) else moment


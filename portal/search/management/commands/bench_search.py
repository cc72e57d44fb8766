"""`bench_search`: how fast and how accurate search is, measured on this machine.

Everything runs in a separate database (default `portal_bench`, created as the owner role,
migrated, dropped at the end unless --keep) with pictures and probes in a temporary media folder,
so the developer's database and files never see a synthetic row.

Measured:
  vector query   p50/p95 latency of tenant_faces_nearest (HNSW, iterative scan, tenant filter, RLS on)
                 and its recall@10 against exact search, at each --sizes of synthetic faces; beside
                 it, per scope, an exact numpy search over the same visible rows (held in memory,
                 one matrix per gallery: what one would write instead of a database), with the
                 machine's load average while each size was measured; with --compare-faiss, an
                 in-memory FAISS HNSW graph per gallery too (_bench_faiss.py)
  HNSW build     CREATE INDEX time after loading each size
  ingest         image_ingest throughput on the ../shared/faces pictures (distinct bytes each round)
  end to end     search_run wall time on the ../shared/faces probes, model warm, as they are and
                 scaled up to 2,500 px on the long side
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import statistics
import struct
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.test.utils import override_settings
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from portal.audit.services import Actor
from portal.faces.engine import face_engine
from portal.faces.errors import FaceEngineError
from portal.gallery.face_index import FACE_INDEX_NAME, HNSW_EF_CONSTRUCTION, HNSW_M
from portal.gallery.models import EMBEDDING_DIMENSIONS, Image, LegalBasis
from portal.gallery.services import gallery_scope, image_ingest
from portal.runtime.database import database_drop, database_name_use, owner_connection, owner_psycopg_connect
from portal.search.authorisations import AuthorisationGiven
from portal.gallery.gates import search_exclusions, search_exclusions_sql
from portal.search.binding import server_bound_cursor
from portal.search.management.commands._bench_faiss import FaissGalleries, merged_nearest
from portal.search.management.commands._bench_precision import (FULL, HALF, index_create_sql,
                                                                index_prewarm, indexes_drop, loadavg,
                                                                nearest_function, storage)
from portal.search.selectors import nearest_statement, tenant_faces_nearest
from portal.search.services import search_run
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant

ACTOR = Actor.system("command: bench_search")
# The synthetic tenants are law enforcement: each search states an authorisation.
_AUTHORISED = AuthorisationGiven(authority="Benchmark", reference="BENCH", date=date(2026, 1, 1))
SYNTHETIC_ENGINE = "bench-synthetic"
PLATFORM = 0  # the platform index's gallery number in the staging table (tenant_id NULL)
LOAD_CHUNK = 100_000
K = 10
# The migration's index (portal/gallery/face_index.py); the build is timed with the same
# parameters unless --m / --ef-construction try others.
PICTURE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


@dataclass(frozen=True)
class SyntheticSpace:
    """Clustered unit vectors shaped like the Dlib embeddings: every face lies in one narrow cone
    (different people about 0.82 similar), pictures of one identity about 0.95 similar."""

    centres: np.ndarray
    rng: np.random.Generator

    @classmethod
    def create(cls, *, centres: int, seed: int) -> SyntheticSpace:
        rng = np.random.default_rng(seed)
        axis = _normalised(rng.normal(size=(1, EMBEDDING_DIMENSIONS)))
        spread = rng.normal(0.0, 0.0414, size=(centres, EMBEDDING_DIMENSIONS))
        return cls(centres=_normalised(axis + spread).astype(np.float32), rng=rng)

    def sample(self, n: int) -> np.ndarray:
        labels = self.rng.integers(0, len(self.centres), n)
        noise = self.rng.normal(0.0, 0.02, size=(n, EMBEDDING_DIMENSIONS)).astype(np.float32)
        return _normalised(self.centres[labels] + noise).astype(np.float32)


def _normalised(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _ms_summary(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "median_ms": round(_percentile(ms, 50), 1), "p95_ms": round(_percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1) if ms else None}


class Command(BaseCommand):
    help = ("Benchmarks the vector query (latency, recall@10 against exact search) on synthetic faces, the HNSW "
            "build, ingest throughput and end-to-end search time, in a separate database.")

    def add_arguments(self, parser):
        parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000],
                            help="Synthetic face counts, measured in increasing order (default 100000 1000000).")
        parser.add_argument("--queries", type=int, default=200, help="Vector queries per size (default 200).")
        parser.add_argument("--skip-build", action="store_true",
                            help="Reuse the synthetic faces and index of a database kept by --keep when it holds "
                                 "exactly the (single) size asked for; only the queries run.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
        parser.add_argument("--database", default="portal_bench_search", help="The benchmark database (its name "
                            "must contain 'bench'; one this command made earlier is dropped and re-created).")
        parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")
        parser.add_argument("--tenants", type=int, default=20, help="Synthetic tenants (default 20).")
        parser.add_argument("--platform-share", type=float, default=0.4,
                            help="Share of the synthetic faces in the platform index (default 0.4).")
        parser.add_argument("--centres", type=int, default=2000, help="Synthetic identities (default 2000).")
        parser.add_argument("--ef-search", type=int, default=None,
                            help=f"hnsw.ef_search for the queries (default SEARCH_HNSW_EF, {settings.SEARCH_HNSW_EF}).")
        parser.add_argument("--m", type=int, default=HNSW_M, help=f"HNSW m for the build (default {HNSW_M}, the "
                            "migration's).")
        parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION,
                            help=f"HNSW ef_construction for the build (default {HNSW_EF_CONSTRUCTION}, the migration's).")
        parser.add_argument("--build-memory", default=None, help="maintenance_work_mem for the HNSW build (default "
                            "the server's, sized from the machine: portal/runtime/server_memory.py).")
        parser.add_argument("--compare-full-precision", action="store_true",
                            help="At each size, first build the full-precision HNSW index (the one before "
                                 "gallery.0009) and measure its queries, its size and recall, then the "
                                 "half-precision one: the two side by side in one run.")
        parser.add_argument("--faces-dir", default=None,
                            help="The test pictures (default FACES_DIR or ../shared/faces).")
        parser.add_argument("--pictures", type=int, default=None, help="Use only the first N pictures.")
        parser.add_argument("--rounds", type=int, default=2,
                            help="Times each picture is ingested and searched (default 2).")
        parser.add_argument("--skip-engine", action="store_true",
                            help="Only the vector query: no ingest or end-to-end figures (for tuning runs).")
        parser.add_argument("--breakdown", action="store_true",
                            help="Also time, alternately with each query, the previous code path (the orders read "
                                 "on every search, the settings in their own round trip, the probe as text), and "
                                 "the server's own time for each statement (EXPLAIN ANALYZE: planning + execution).")
        parser.add_argument("--orders", type=int, default=3,
                            help="Regional orders in force during the queries (default 3, at most 30 countries), each "
                                 "for a country; the synthetic faces are in other regions, so the exclusions are real "
                                 "SQL over real region codes that excludes nothing.")
        parser.add_argument("--exact-scan-below", type=int, default=None,
                            help="Faces under which a tenant-only search scans its partition exactly (default "
                                 f"SEARCH_EXACT_SCAN_BELOW, {settings.SEARCH_EXACT_SCAN_BELOW}).")
        parser.add_argument("--compare-faiss", action="store_true",
                            help="Beside the numpy reference, an in-memory FAISS HNSW graph per gallery (same m, "
                                 "ef_construction and ef_search), its build time, size, latency and recall.")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        sizes = sorted(set(options["sizes"]))
        if not sizes or sizes[0] < 100 or options["queries"] < 1 or options["rounds"] < 1:
            raise CommandError("--sizes must be at least 100, --queries and --rounds at least 1.")
        if options["skip_build"] and len(sizes) != 1:
            raise CommandError("--skip-build reuses one kept size: pass a single --sizes value.")
        if not 0 <= options["platform_share"] < 1 or options["tenants"] < 2:
            raise CommandError("--platform-share must be in [0, 1) and --tenants at least 2.")
        name = options["database"]
        if "bench" not in name or name == connection.settings_dict["NAME"]:
            raise CommandError(f"--database {name!r} must be a separate database whose name contains 'bench'.")
        pictures = self._pictures(options)

        # numpy's BLAS threads: set OPENBLAS_NUM_THREADS=1 for a reference that, like the database's
        # statement and FAISS's query, uses one core (on a loaded machine a 2-thread BLAS waits on itself).
        report = {"machine": {"cpus": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                              "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset (every core)")},
                  "database": name}
        media = Path(tempfile.mkdtemp(prefix="bench-media-"))
        try:
            with override_settings(MEDIA_ROOT=media), _bench_database(name=name, keep=options["keep"],
                                                                       reuse=options["skip_build"]):
                ef_search = options["ef_search"] or settings.SEARCH_HNSW_EF
                exact_below = (settings.SEARCH_EXACT_SCAN_BELOW if options["exact_scan_below"] is None
                               else options["exact_scan_below"])
                with override_settings(SEARCH_HNSW_EF=ef_search, SEARCH_EXACT_SCAN_BELOW=exact_below):
                    report["settings"] = {
                        "hnsw_m": options["m"], "hnsw_ef_construction": options["ef_construction"],
                        "ef_search": ef_search, "exact_scan_below": exact_below,
                        "iterative_scan": "relaxed_order", "tenants": options["tenants"],
                        "platform_share": options["platform_share"], "centres": options["centres"], "k": K,
                        "build_memory": options["build_memory"],
                    }
                    report["vector_query"] = self._vector_benchmark(name=name, sizes=sizes, options=options)
                    if options["skip_engine"]:
                        return self._report(report, options)
                    self._progress("engine: warming up")
                    face_engine().faces_detect(data=pictures[0].read_bytes())
                    probe_tenant = _tenant_create(slug=f"bench-probe-{uuid.uuid4().hex[:8]}", entitled=True)
                    report["ingest"] = self._ingest_benchmark(tenant=probe_tenant, pictures=pictures,
                                                              rounds=options["rounds"])
                    report["end_to_end"] = self._search_benchmark(tenant=probe_tenant, pictures=pictures,
                                                                  rounds=options["rounds"])
        finally:
            shutil.rmtree(media, ignore_errors=True)
        self._report(report, options)

    def _report(self, report: dict, options) -> None:
        report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else _text(report))

    def _progress(self, message: str) -> None:
        self.stderr.write(f"[bench] {message}")

    def _pictures(self, options) -> list[Path]:
        folder = Path(options["faces_dir"] or os.environ.get("FACES_DIR")
                      or settings.BASE_DIR.parent / "shared" / "faces")
        pictures = sorted(p for p in folder.glob("*") if p.suffix.lower() in PICTURE_SUFFIXES)
        if not pictures:
            raise CommandError(f"No pictures in {folder}: pass --faces-dir or set FACES_DIR.")
        return pictures[: options["pictures"]] if options["pictures"] else pictures

    # --- (b) and (c): the vector query and the HNSW build ------------------------------------
    def _vector_benchmark(self, *, name: str, sizes: list[int], options) -> list[dict]:
        space = SyntheticSpace.create(centres=options["centres"], seed=options["seed"])
        galleries = _synthetic_galleries(count=options["tenants"])
        share = options["platform_share"]
        weights = np.array([share] + [(1 - share) / len(galleries)] * len(galleries))
        results = []
        precisions = [FULL, HALF] if options["compare_full_precision"] else [HALF]
        with _owner_session(name=name) as owner:
            loaded = _synthetic_count(owner)
            for size in sizes:
                row = {"size": size, "loadavg_start": loadavg()}
                reused = options["skip_build"] and loaded == size and _index_exists(owner)
                if reused:
                    self._progress(f"{size:,} faces: reusing the kept faces and index")
                    row["reused"] = True
                else:
                    if loaded > size:
                        raise CommandError(f"The database holds {loaded:,} synthetic faces, more than {size:,}: "
                                           f"run without --skip-build (it starts afresh).")
                    self._progress(f"{size:,} faces: loading {size - loaded:,}")
                    started = time.perf_counter()
                    indexes_drop(owner)
                    _synthetic_load(owner, space=space, count=size - loaded, galleries=galleries, weights=weights)
                    row["load_seconds"] = round(time.perf_counter() - started, 1)
                    loaded = size
                _orders_in_force_ensure(owner, count=options["orders"])
                in_memory = functools.cache(lambda: self._visible_rows_read(owner, size))  # read on first use
                faiss_graphs = None
                if options["compare_faiss"]:
                    self._progress(f"{size:,} faces: building the FAISS HNSW graphs (load average {loadavg()})")
                    faiss_graphs = FaissGalleries.build(ids=in_memory().ids, vectors=in_memory().vectors, m=options["m"],
                                                        ef_construction=options["ef_construction"],
                                                        ef_search=settings.SEARCH_HNSW_EF)
                    row["faiss"] = {"build_seconds": faiss_graphs.build_seconds,
                                    "bytes_per_face": round(faiss_graphs.bytes() / size)}
                for precision in precisions:
                    figures = {}
                    if not (reused and precision == HALF):
                        indexes_drop(owner)
                        figures["loadavg_before_build"] = loadavg()
                        self._progress(f"{size:,} faces: building the {precision}-precision HNSW index "
                                       f"(load average {figures['loadavg_before_build']})")
                        figures["build_seconds"] = _index_build(owner, memory=options["build_memory"], m=options["m"],
                                                                ef_construction=options["ef_construction"],
                                                                precision=precision)
                        figures["loadavg_after_build"] = loadavg()
                    figures["storage"] = storage(owner, precision=precision, faces=size)
                    figures["prewarmed_blocks"] = index_prewarm(owner, precision=precision)
                    self._progress(f"{size:,} faces, {precision} precision: {json.dumps(figures)}; "
                                   f"{options['queries']} queries")
                    figures["loadavg_before_queries"] = loadavg()
                    figures.update(_queries_measure(space=space, galleries=galleries, queries=options["queries"],
                                                    breakdown=options["breakdown"] and precision == HALF,
                                                    nearest=nearest_function(precision), seed=options["seed"] + size,
                                                    in_memory=in_memory, faiss_graphs=faiss_graphs))
                    figures["loadavg_after_queries"] = loadavg()
                    self._progress(f"{size:,} faces, {precision} precision: {json.dumps(figures)}")
                    if precision == HALF:
                        row.update(figures)
                    else:
                        row["full_precision"] = figures
                del in_memory, faiss_graphs
                if "full_precision" in row:
                    row["half_over_full"] = _half_over_full(row)
                results.append(row)
                self._progress(f"{size:,} faces: {json.dumps(row)}")
        return results

    def _visible_rows_read(self, owner, size: int) -> InMemoryGalleries:
        self._progress(f"{size:,} faces: reading the visible rows into memory for the numpy search")
        return InMemoryGalleries.read(owner)

    # --- (d): ingest throughput ----------------------------------------------------------------
    def _ingest_benchmark(self, *, tenant: Tenant, pictures: list[Path], rounds: int) -> dict:
        self._progress(f"ingest: {len(pictures)} pictures x {rounds} rounds")
        wall, cpu, faces, count, refused = 0.0, 0.0, 0, 0, []
        for round_number in range(rounds):
            for picture in pictures:
                data = _distinct_copy(picture, round_number=round_number)
                started_wall, started_cpu = time.perf_counter(), time.process_time()
                try:
                    result = image_ingest(tenant=tenant, data=data, actor=ACTOR, legal_basis=LegalBasis.OTHER)
                except FaceEngineError as error:
                    refused.append(f"{picture.name}: {error.code}")
                    continue
                finally:
                    wall += time.perf_counter() - started_wall
                    cpu += time.process_time() - started_cpu
                count += result.created
                faces += len(result.faces)
        figures = {"pictures": count, "faces": faces, "seconds": round(wall, 2),
                   "pictures_per_second": round(count / wall, 2) if wall else None,
                   "pictures_per_cpu_second": round(count / cpu, 2) if cpu else None, "refused": refused}
        self._progress(f"ingest: {figures}")
        return figures

    # --- (a): end to end ---------------------------------------------------------------------------
    def _search_benchmark(self, *, tenant: Tenant, pictures: list[Path], rounds: int) -> dict:
        figures = {}
        for variant in ("original", "scaled_2500"):
            probes = [(p.name, p.read_bytes() if variant == "original" else _scaled_copy(p, long_side=2500))
                      for p in pictures]
            self._progress(f"end to end ({variant}): {len(probes)} probes x {rounds} rounds")
            seconds, detect, query, faceless = [], [], [], set()
            for _ in range(rounds):
                for name, probe in probes:
                    started = time.perf_counter()
                    try:
                        search = search_run(tenant=tenant, actor=ACTOR, probe=probe, authorisation=_AUTHORISED)
                    except FaceEngineError as error:
                        # Timed too: telling the person there is no face is also an answer.
                        faceless.add(f"{name}: {error.code}")
                        seconds.append(time.perf_counter() - started)
                        continue
                    seconds.append(time.perf_counter() - started)
                    detect.append(search.timings_ms["detect"] / 1000)
                    query.append(search.timings_ms["query"] / 1000)
            figures[variant] = {**_ms_summary(seconds), "detect_median_ms": _ms_summary(detect)["median_ms"],
                                "query_median_ms": _ms_summary(query)["median_ms"],
                                "query_p95_ms": _ms_summary(query)["p95_ms"], "no_face": sorted(faceless)}
            self._progress(f"end to end ({variant}): {figures[variant]}")
        with tenant_scope(tenant):
            figures["faces_visible_to_the_tenant"] = _visible_faces(tenant)
        return figures


# --- the benchmark database ----------------------------------------------------------------------

_DATABASE_MARK = "made by manage.py bench_search: synthetic faces, safe to drop"


@contextmanager
def _bench_database(*, name: str, keep: bool, reuse: bool):
    """Points the connections at a fresh (or, reusing, kept) database, migrated as the owner."""
    quoted = connections["default"].ops.quote_name(name)
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone()
        if found is not None and found[0] != _DATABASE_MARK:
            # Another benchmark (or a person) may be using a database of that name: never drop it.
            raise CommandError(f"The database {name} exists and was not made by bench_search; pass another --database.")
        if found is not None and not reuse:
            database_drop(cursor, name=name)
        if found is None or not reuse:
            cursor.execute(f"CREATE DATABASE {quoted}")
            cursor.execute(f"COMMENT ON DATABASE {quoted} IS %s", [_DATABASE_MARK])
    try:
        with database_name_use(name):
            call_command("migrate", verbosity=0, interactive=False)
            yield
    finally:
        if not keep:
            _database_drop(name=name)


def _database_drop(*, name: str) -> None:
    """Drops the benchmark database, only if it is still the one this command made."""
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name])
        found = cursor.fetchone()
        if found is not None and found[0] == _DATABASE_MARK:
            database_drop(cursor, name=name)


def kept_database_arguments(parser) -> None:
    """--database, --tenants and --json, for the commands that work on a database `--keep` kept."""
    parser.add_argument("--database", default="portal_bench_search",
                        help="A database kept by bench_search --keep (default portal_bench_search).")
    parser.add_argument("--tenants", type=int, default=20, help="The kept database's tenants (default 20).")
    parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")


@contextmanager
def kept_database(options):
    """The connections pointed at the kept database `--database` names, reused as it is (only
    migrations not yet applied run): yields its name and its synthetic tenants."""
    name = options["database"]
    if "bench" not in name:
        raise CommandError(f"--database {name!r} must be a benchmark database (its name contains 'bench').")
    with _bench_database(name=name, keep=True, reuse=True):
        yield name, _synthetic_galleries(count=options["tenants"])


@contextmanager
def _owner_session(*, name: str):
    """A plain psycopg connection to the bench database as the table owner (loads, index builds)."""
    conn = owner_psycopg_connect(dbname=name)
    try:
        with conn.cursor() as cursor:
            # RLS is forced on the owner too; loading is platform code across every gallery.
            cursor.execute("SELECT set_config('portal.scope', 'all', false)")
        yield conn
    finally:
        conn.close()


@dangerously_unscoped(reason="benchmark tenants")
def _tenant_create(*, slug: str, entitled: bool) -> Tenant:
    return Tenant.objects.create(slug=slug, name=slug.replace("-", " ").title(), kind=Tenant.Kind.LAW_ENFORCEMENT,
                                 home_country="GB", may_search_platform_index=entitled,
                                 case_reference_required=False)


# Thirty countries for the orders in force; the synthetic faces are in none of them (_FACE_REGIONS),
# so the orders exclude no face, yet each face's region is a real string the exclusion must test.
_ORDER_REGIONS = ["FR", "IT", "ES", "PT", "NL", "BE", "AT", "PL", "SE", "DK", "FI", "IE", "GR", "CZ", "SK",
                  "HU", "RO", "BG", "HR", "SI", "LT", "LV", "EE", "LU", "MT", "CY", "NO", "IS", "CH", "LI"]
_FACE_REGIONS = ["GB", "US-CA", "DE-BY", "JP", "BR-SP", "CA-QC", "AU-NSW", "IN-MH"]


def _orders_in_force_ensure(owner, *, count: int) -> None:
    """`count` active regional orders (BENCH-ORDER-n), each for another country (then again from
    the first), written as the owner. The synthetic faces are in none of those countries
    (_FACE_REGIONS), so the orders exclude none of them."""
    with owner.cursor() as cursor:
        cursor.execute("DELETE FROM compliance_regulatoryorder WHERE reference LIKE 'BENCH-ORDER-%%'")
        for number in range(count):
            cursor.execute(
                "INSERT INTO compliance_regulatoryorder (kind, authority, reference, description, regions,"
                " include_unknown_region, domains, offboard_tenant_ids, scope_all, scope_tenant_ids,"
                " scope_platform_index, received_on, effective_at, deadline, status, covered, deleted, created_at,"
                " activated_at, certificate_signed) VALUES ('regional', 'Benchmark', %s, '', %s, false, '{}', '{}', true,"
                " '{}', true, current_date, now(), current_date + 30, 'active', '{}', '{}', now(), now(), '')",
                [f"BENCH-ORDER-{number}", [_ORDER_REGIONS[number % len(_ORDER_REGIONS)]]])


def _synthetic_galleries(*, count: int) -> list[Tenant]:
    """The synthetic tenants, every other one entitled to the platform index."""
    galleries = []
    for number in range(1, count + 1):
        slug = f"bench-{number:02d}"
        tenant = Tenant.objects.filter(slug=slug).first() or _tenant_create(slug=slug, entitled=number % 2 == 0)
        galleries.append(tenant)
    return galleries


def _synthetic_count(owner) -> int:
    with owner.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM gallery_face WHERE engine = %s", [SYNTHETIC_ENGINE])
        return cursor.fetchone()[0]


def _index_exists(owner) -> bool:
    with owner.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [FACE_INDEX_NAME])
        return cursor.fetchone() is not None


def _gallery_images(galleries: list[Tenant]) -> dict[int, int]:
    """One placeholder picture per gallery for the synthetic faces to belong to."""
    images = {}
    for tenant in [None, *galleries]:
        with gallery_scope(tenant=tenant):
            image, _ = Image.objects.get_or_create(
                tenant=tenant, sha256=("0" * 63) + "1",
                defaults={"file": "bench/synthetic.jpg", "width": 100, "height": 100, "format": "JPEG",
                          "legal_basis": LegalBasis.OTHER})
        images[PLATFORM if tenant is None else tenant.pk] = image.pk
    return images


def _copy_binary(vectors: np.ndarray, gallery_ids: np.ndarray) -> bytes:
    """A COPY ... (FORMAT BINARY) stream of (gallery int8, embedding vector) rows, built by numpy."""
    row = np.dtype([("fields", ">i2"), ("gallery_len", ">i4"), ("gallery", ">i8"), ("vector_len", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", (EMBEDDING_DIMENSIONS,))])
    rows = np.empty(len(vectors), dtype=row)
    rows["fields"], rows["gallery_len"], rows["gallery"] = 2, 8, gallery_ids
    rows["vector_len"], rows["dim"], rows["unused"] = 4 + 4 * EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS, 0
    rows["values"] = vectors
    return b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + rows.tobytes() + struct.pack(">h", -1)


def _synthetic_load(owner, *, space: SyntheticSpace, count: int, galleries: list[Tenant], weights: np.ndarray) -> None:
    images = _gallery_images(galleries)
    ids = np.array([PLATFORM] + [tenant.pk for tenant in galleries], dtype=np.int64)
    image_map = ", ".join(f"({gallery}, {image})" for gallery, image in images.items())
    with owner.cursor() as cursor:
        cursor.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS bench_vectors "
                       f"(gallery bigint NOT NULL, embedding vector({EMBEDDING_DIMENSIONS}) NOT NULL)")
        cursor.execute("TRUNCATE bench_vectors")
        for start in range(0, count, LOAD_CHUNK):
            n = min(LOAD_CHUNK, count - start)
            gallery_ids = ids[space.rng.choice(len(ids), size=n, p=weights)]
            with cursor.copy("COPY bench_vectors (gallery, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.write(_copy_binary(space.sample(n), gallery_ids))
        cursor.execute(f"""
            INSERT INTO gallery_face (uuid, image_id, tenant_id, embedding, box_x, box_y, box_w, box_h, confidence,
                                      crop, region, source_domain, engine, withheld, created_at)
            SELECT gen_random_uuid(), m.image_id, NULLIF(v.gallery, {PLATFORM}), v.embedding, 0, 0, 100, 100, 0.99,
                   'bench/synthetic-crop.jpg', (%s::varchar[])[1 + floor(random() * %s)::int], '', %s, false, now()
            FROM bench_vectors v JOIN (VALUES {image_map}) AS m (gallery, image_id) ON m.gallery = v.gallery
        """, [_FACE_REGIONS, len(_FACE_REGIONS), SYNTHETIC_ENGINE])
        cursor.execute("DROP TABLE bench_vectors")
        cursor.execute("VACUUM ANALYZE gallery_face")


def _index_build(owner, *, memory: str | None, m: int, ef_construction: int, precision: str = HALF) -> float:
    """Builds the index with the server's maintenance_work_mem and parallel workers (sized from the
    machine, portal/runtime/server_memory.py) unless `memory` is given."""
    with owner.cursor() as cursor:
        if memory:
            cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [memory])
        started = time.perf_counter()
        # On the parent: one graph per partition (portal/gallery/partitions.py), built one after the other.
        cursor.execute(index_create_sql(precision=precision, m=m, ef_construction=ef_construction))
        built = time.perf_counter() - started
        cursor.execute("ANALYZE gallery_face")
    return round(built, 1)


def _half_over_full(row: dict) -> dict:
    """The half-precision figures over the full-precision ones of the same run."""
    half, full = row, row["full_precision"]
    ratios = {"heap_and_vector_index_per_face": round(half["storage"]["heap_and_vector_index_per_face"]
                                                      / full["storage"]["heap_and_vector_index_per_face"], 3),
              "vector_index_bytes": round(half["storage"]["vector_index_bytes"]
                                          / full["storage"]["vector_index_bytes"], 3)}
    if "build_seconds" in half and "build_seconds" in full:
        ratios["build_seconds"] = round(half["build_seconds"] / full["build_seconds"], 2)
    for scope in half["by_scope"]:
        h, f = half["by_scope"][scope], full["by_scope"].get(scope)
        if f:
            ratios[scope] = {"p50": round(h["p50_ms"] / f["p50_ms"], 2), "p95": round(h["p95_ms"] / f["p95_ms"], 2),
                             "recall_at_10": f"{h['recall_at_10']} vs {f['recall_at_10']}"}
    return ratios


# The exact answer: tenant_faces_nearest's query with index scans off, so PostgreSQL compares the
# probe with every face the filters admit (a sequential or bitmap scan on the tenant, then a sort).
_EXACT_SQL = """
    SELECT id FROM gallery_face
    WHERE NOT withheld AND {gallery}
    ORDER BY embedding <=> %s::vector, id
    LIMIT %s
"""


def _exact_nearest(*, tenant: Tenant, embedding: np.ndarray, include_platform_index: bool) -> list[int]:
    gallery = "(tenant_id = %s OR tenant_id IS NULL)" if include_platform_index else "tenant_id = %s"
    vector = np.asarray(embedding, dtype=np.float32)  # pgvector's adapter sends it
    with tenant_scope(tenant), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(_EXACT_SQL.format(gallery=gallery), [tenant.pk, vector, K])
        return [face_id for (face_id,) in cursor.fetchall()]


@dataclass
class InMemoryGalleries:
    """Every visible face's embedding in memory, one matrix per gallery (PLATFORM for the platform
    index), for an exact numpy search over the rows a search may see: the brute-force reference."""

    ids: dict[int, np.ndarray]
    vectors: dict[int, np.ndarray]

    @classmethod
    def read(cls, owner) -> InMemoryGalleries:
        """Gallery by gallery, parsed in place: at 10M faces the whole table at once would need
        several copies of 5 GB."""
        row = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vector_len", ">i4"), ("dim", ">i2"),
                        ("unused", ">i2"), ("values", ">f4", (EMBEDDING_DIMENSIONS,))])
        with owner.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT coalesce(tenant_id, {PLATFORM}) FROM gallery_face")
            galleries = sorted(gallery for (gallery,) in cursor.fetchall())
        ids, vectors_by = {}, {}
        for gallery in galleries:
            which = "tenant_id IS NULL" if gallery == PLATFORM else f"tenant_id = {int(gallery)}"
            buffer = bytearray()
            with owner.cursor() as cursor, cursor.copy(
                    f"COPY (SELECT id, embedding FROM gallery_face WHERE {which} AND NOT withheld)"
                    f" TO STDOUT WITH (FORMAT BINARY)") as copy:
                for chunk in copy:
                    buffer += chunk
            count = (len(buffer) - 21) // row.itemsize  # header 19 bytes, trailer 2
            rows = np.frombuffer(buffer, dtype=row, count=count, offset=19)
            vectors = rows["values"].astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            ids[int(gallery)], vectors_by[int(gallery)] = rows["id"].astype(np.int64), vectors
            del rows, buffer
        return cls(ids=ids, vectors=vectors_by)

    def galleries(self, *, tenant: Tenant, include_platform_index: bool) -> list[int]:
        return [tenant.pk, PLATFORM] if include_platform_index else [tenant.pk]

    def nearest(self, *, tenant: Tenant, embedding: np.ndarray, include_platform_index: bool, k: int) -> list[int]:
        probe = np.asarray(embedding, dtype=np.float32)
        probe = probe / np.linalg.norm(probe)
        found_ids, found_scores = [], []
        for gallery in self.galleries(tenant=tenant, include_platform_index=include_platform_index):
            if gallery not in self.vectors:
                continue
            scores = self.vectors[gallery] @ probe
            top = np.argpartition(-scores, k)[:k] if len(scores) > k else np.arange(len(scores))
            found_ids.append(self.ids[gallery][top])
            found_scores.append(scores[top])
        return merged_nearest(found_ids, found_scores, k=k)


def _queries_measure(*, space: SyntheticSpace, galleries: list[Tenant], queries: int, breakdown: bool,
                     nearest=tenant_faces_nearest, seed: int = 0, in_memory: Callable[[], InMemoryGalleries],
                     faiss_graphs: FaissGalleries | None = None) -> dict:
    """Every query timed first, then the references (the database's exact scan, numpy, FAISS) for
    each: at 10M faces the exact scans and the 5 GB of vectors in memory would otherwise push the
    index and heap pages the timed queries need out of the caches. `in_memory` reads the visible
    rows on its first call."""
    # The same probes and askers for each index measured at one size (their own generator).
    sampler = SyntheticSpace(centres=space.centres, rng=np.random.default_rng(seed))
    probes = sampler.sample(queries)
    askers = [galleries[index] for index in sampler.rng.integers(0, len(galleries), queries)]
    for tenant, probe in list(zip(askers, probes))[:10]:  # warm the index's pages; not counted
        with tenant_scope(tenant):
            nearest(tenant=tenant, embedding=probe, k=K,
                                 include_platform_index=tenant.may_search_platform_index)
    by_scope: dict[str, dict[str, list]] = {}
    answers = []
    for number, (tenant, probe) in enumerate(zip(askers, probes)):
        scope = "tenant+platform" if tenant.may_search_platform_index else "tenant"
        figures = by_scope.setdefault(scope, {"latency": [], "exact": [], "recall": [], "short": 0, "previous": [],
                                              "server": [], "cpu": [], "previous_cpu": [], "numpy": [],
                                              "numpy_recall": [], "faiss": [], "faiss_recall": [],
                                              "references_agree": []})
        include = tenant.may_search_platform_index
        # Each in turn first, so neither path nor the server's own timing always meets the pages the
        # one before it brought into memory.
        paths = ["current", "previous", "server"] if breakdown else ["current"]
        turn = number % len(paths)
        for path in paths[turn:] + paths[:turn]:
            if path == "server":
                figures["server"].append(_server_seconds(tenant=tenant, embedding=probe))
                continue
            with tenant_scope(tenant):
                started, started_cpu = time.perf_counter(), time.process_time()
                if path == "current":
                    found = nearest(tenant=tenant, embedding=probe, k=K, include_platform_index=include)
                    figures["latency"].append(time.perf_counter() - started)
                    figures["cpu"].append(time.process_time() - started_cpu)
                else:
                    _previous_nearest(tenant=tenant, embedding=probe, k=K, include_platform_index=include)
                    figures["previous"].append(time.perf_counter() - started)
                    figures["previous_cpu"].append(time.process_time() - started_cpu)
        answers.append(found)
    for tenant in {tenant.may_search_platform_index: tenant for tenant in askers}.values():
        scope = "tenant+platform" if tenant.may_search_platform_index else "tenant"
        by_scope[scope]["plan"] = _plan_used(tenant=tenant, embedding=probes[0], nearest=nearest)
    for tenant, probe, found in zip(askers, probes, answers):
        figures = by_scope["tenant+platform" if tenant.may_search_platform_index else "tenant"]
        include = tenant.may_search_platform_index
        started = time.perf_counter()
        exact = _exact_nearest(tenant=tenant, embedding=probe, include_platform_index=include)
        exact_latency = time.perf_counter() - started
        recall = len({n.face_id for n in found} & set(exact)) / len(exact) if exact else 1.0
        figures["exact"].append(exact_latency)
        figures["recall"].append(recall)
        figures["short"] += len(found) < len(exact)
        started = time.perf_counter()
        brute = in_memory().nearest(tenant=tenant, embedding=probe, include_platform_index=include, k=K)
        figures["numpy"].append(time.perf_counter() - started)
        figures["numpy_recall"].append(len({n.face_id for n in found} & set(brute)) / len(brute) if brute else 1.0)
        # The two exact references should name the same faces: the database's scan and numpy's.
        figures["references_agree"].append(len(set(exact) & set(brute)) / len(brute) if brute else 1.0)
        if faiss_graphs is not None:
            galleries_seen = in_memory().galleries(tenant=tenant, include_platform_index=include)
            started = time.perf_counter()
            graph_found = faiss_graphs.nearest(galleries=galleries_seen, embedding=probe, k=K)
            figures["faiss"].append(time.perf_counter() - started)
            figures["faiss_recall"].append(len(set(graph_found) & set(brute)) / len(brute) if brute else 1.0)
    every = {key: [value for figures in by_scope.values() for value in figures[key]]
             for key in ("latency", "exact", "recall", "previous", "server", "cpu", "previous_cpu", "numpy",
                         "numpy_recall", "faiss", "faiss_recall", "references_agree")}
    return {**_query_figures(every),
            "by_scope": {scope: _query_figures(figures) | {"short_results": figures["short"], "plan": figures["plan"]}
                         for scope, figures in sorted(by_scope.items())}}


def _previous_nearest(*, tenant: Tenant, embedding: np.ndarray, k: int, include_platform_index: bool) -> list[int]:
    """The reference: tenant_faces_nearest as it was before the orders were cached (091fd23):
    the exclusions read from the database on every search (now the version as well as the orders),
    the HNSW settings in a round trip of their own, and the probe spelled into the SQL as text by
    Django's client-side binding. The same statement otherwise."""
    gallery = "(f.tenant_id = %s OR f.tenant_id IS NULL)" if include_platform_index else "f.tenant_id = %s"
    excluded, excluded_params = search_exclusions_sql(tenant=tenant, include_platform_index=include_platform_index,
                                                      alias="f")
    vector = np.asarray(embedding, dtype=np.float32)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                       " set_config('hnsw.ef_search', %s, true)", [str(max(settings.SEARCH_HNSW_EF, k))])
        cursor.execute(f"""
            WITH nearest AS MATERIALIZED (
                SELECT f.id, f.embedding <=> %s::vector AS distance
                FROM gallery_face f
                WHERE NOT f.withheld AND {gallery} AND {excluded}
                ORDER BY f.embedding <=> %s::vector
                LIMIT %s
            )
            SELECT id, distance FROM nearest ORDER BY distance, id
        """, [vector, tenant.pk, *excluded_params, vector, k])
        return [face_id for face_id, _ in cursor.fetchall()]


def _server_seconds(*, tenant: Tenant, embedding: np.ndarray) -> float:
    """The server's own time for tenant_faces_nearest's statement: EXPLAIN (ANALYZE) of the very
    statement and parameters it sends, in a tenant scope, after its settings; planning plus
    execution, without per-node timing (TIMING OFF), so the instrumentation adds little."""
    include = tenant.may_search_platform_index
    with tenant_scope(tenant):
        exclusions = search_exclusions(tenant=tenant, include_platform_index=include, alias="f")
        settings_sql, settings_params, sql, params = nearest_statement(
            tenant=tenant, embedding=embedding, k=K, include_platform_index=include, exclusions=exclusions)
        with server_bound_cursor(connection) as cursor:
            cursor.execute(settings_sql, settings_params)
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
            (plan,) = cursor.fetchone()[0]
    return (plan["Planning Time"] + plan["Execution Time"]) / 1000


def _plan_used(*, tenant: Tenant, embedding: np.ndarray, nearest=tenant_faces_nearest) -> str:
    """Which index the planner chose for tenant_faces_nearest's own statement (captured, then
    explained in the same transaction, so with the same hnsw settings)."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with tenant_scope(tenant):
        with connection.execute_wrapper(capture):
            nearest(tenant=tenant, embedding=embedding, k=K, include_platform_index=tenant.may_search_platform_index)
        (settings_sql, settings_params), (sql, params) = statements[0], statements[-1]
        with server_bound_cursor(connection) as cursor:
            cursor.execute(settings_sql, settings_params)
            # Analysed: a tenant-only statement holds both an exact and a graph branch, one of which runs.
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, COSTS OFF) " + sql, params)
            ran = [line for (line,) in cursor.fetchall() if "never executed" not in line]
            # Each partition's graph has a name of its own (the parent's index is partitioned).
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE %s AND indexdef LIKE %s",
                           ["gallery_face%", "%USING hnsw%"])
            graphs = {name: "half-precision" if "halfvec" in definition else "full-precision"
                      for name, definition in cursor.fetchall()}
    scans = []
    for line in ran:
        used = line.split("Index Scan using ")[-1].split()[0] if "Index Scan using" in line else None
        if used in graphs:
            scans.append(f"{graphs[used]} hnsw graph of {line.split(' on ')[-1].split()[0]}")
        elif "Seq Scan on gallery_face" in line:
            scans.append(f"exact scan of {line.split(' on ')[-1].split()[0]}")
        elif "Index Scan using" in line and "gallery_face" in line:
            scans.append(f"btree index of {line.split(' on ')[-1].split()[0]}")
    return ", ".join(sorted(set(scans))) or "no face partition read"


def _query_figures(figures: dict) -> dict:
    ms = [s * 1000 for s in figures["latency"]]
    exact = [s * 1000 for s in figures["exact"]]
    result = {"queries": len(ms), "p50_ms": round(_percentile(ms, 50), 2), "p95_ms": round(_percentile(ms, 95), 2),
              "recall_at_10": round(statistics.fmean(figures["recall"]), 4),
              "min_recall_at_10": round(min(figures["recall"]), 2),
              "exact_p50_ms": round(_percentile(exact, 50), 1), "exact_p95_ms": round(_percentile(exact, 95), 1)}
    if figures["numpy"]:
        numpy_ms = [s * 1000 for s in figures["numpy"]]
        result |= {"numpy_p50_ms": round(_percentile(numpy_ms, 50), 2), "numpy_p95_ms": round(_percentile(numpy_ms, 95), 2),
                   "p95_over_numpy_p95": round(_percentile(ms, 95) / _percentile(numpy_ms, 95), 2),
                   "recall_at_10_vs_numpy": round(statistics.fmean(figures["numpy_recall"]), 4),
                   "min_recall_at_10_vs_numpy": round(min(figures["numpy_recall"]), 2),
                   "exact_scan_vs_numpy": round(statistics.fmean(figures["references_agree"]), 4)}
    if figures.get("faiss"):
        faiss_ms = [s * 1000 for s in figures["faiss"]]
        result |= {"faiss_p50_ms": round(_percentile(faiss_ms, 50), 2), "faiss_p95_ms": round(_percentile(faiss_ms, 95), 2),
                   "p95_over_faiss_p95": round(_percentile(ms, 95) / _percentile(faiss_ms, 95), 2),
                   "faiss_recall_at_10_vs_numpy": round(statistics.fmean(figures["faiss_recall"]), 4)}
    if figures["server"]:
        previous = [s * 1000 for s in figures["previous"]]
        server = [s * 1000 for s in figures["server"]]
        result["breakdown"] = {
            "previous_p50_ms": round(_percentile(previous, 50), 2), "previous_p95_ms": round(_percentile(previous, 95), 2),
            "server_p50_ms": round(_percentile(server, 50), 2), "server_p95_ms": round(_percentile(server, 95), 2),
            # This process's own CPU per call (Python, psycopg, Django): the part of the overhead that
            # is ours, whatever the machine's load adds in waits for a core.
            "call_cpu_p50_ms": round(_percentile([c * 1000 for c in figures["cpu"]], 50), 2),
            "previous_cpu_p50_ms": round(_percentile([c * 1000 for c in figures["previous_cpu"]], 50), 2),
            "call_over_server_p50": round(_percentile(ms, 50) / _percentile(server, 50), 2),
            "previous_over_server_p50": round(_percentile(previous, 50) / _percentile(server, 50), 2),
            "call_over_previous_p50": round(_percentile(ms, 50) / _percentile(previous, 50), 2),
            "call_over_previous_p95": round(_percentile(ms, 95) / _percentile(previous, 95), 2)}
    return result


def _visible_faces(tenant: Tenant) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM gallery_face WHERE tenant_id = %s OR tenant_id IS NULL", [tenant.pk])
        return cursor.fetchone()[0]


# --- pictures --------------------------------------------------------------------------------------

def _distinct_copy(picture: Path, *, round_number: int) -> bytes:
    """The picture re-encoded so that each round's bytes (and sha256) differ: JPEG at a quality
    that changes with the round, PNG with the round in a text chunk (lossless)."""
    with PILImage.open(picture) as image:
        buffer = io.BytesIO()
        if image.format == "PNG":
            info = PngInfo()
            info.add_text("bench-round", str(round_number))
            image.save(buffer, "PNG", pnginfo=info)
        else:
            image.convert("RGB").save(buffer, "JPEG", quality=92 - round_number)
        return buffer.getvalue()


def _scaled_copy(picture: Path, *, long_side: int) -> bytes:
    with PILImage.open(picture) as image:
        image = image.convert("RGB")
        scale = long_side / max(image.size)
        scaled = image.resize((round(image.width * scale), round(image.height * scale)), PILImage.LANCZOS)
        buffer = io.BytesIO()
        scaled.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()


def _text(report: dict) -> str:
    lines = [f"Machine: {report['machine']['cpus']} CPUs, load average {report['machine']['loadavg_start']} at the "
             f"start, {report['machine']['loadavg_end']} at the end; numpy's BLAS threads "
             f"{report['machine']['openblas_threads']}."]
    config = report["settings"]
    lines.append(f"HNSW m={config['hnsw_m']} ef_construction={config['hnsw_ef_construction']}, ef_search="
                 f"{config['ef_search']}, iterative scan {config['iterative_scan']}; {config['tenants']} tenants and "
                 f"the platform index ({config['platform_share']:.0%} of the faces), {config['centres']} identities.")
    lines.append(f"Vector query (k=10, tenant filter, RLS on; a tenant-only search scans its partition exactly "
                 f"below {config.get('exact_scan_below')} faces):")
    for row in report["vector_query"]:
        if "faiss" in row:
            lines.append(f"  {row['size']:>10,} faces, FAISS HNSW per gallery: built in {row['faiss']['build_seconds']} s"
                         f" on {report['machine']['cpus']} cores, {row['faiss']['bytes_per_face']} bytes per face")
        for label, variant in (("full precision", row.get("full_precision")), ("half precision", row)):
            if variant is not None:
                lines.extend(_variant_text(row=row, label=label, variant=variant))
        if "half_over_full" in row:
            lines.append(f"    half / full precision, same run: {json.dumps(row['half_over_full'])}")
    return _engine_text(report, lines)


def _variant_text(*, row: dict, label: str, variant: dict) -> list[str]:
    lines = []
    built = (f"load {row.get('load_seconds')} s, {label} HNSW build {variant['build_seconds']} s (load average "
             f"{variant['loadavg_before_build']} before, {variant['loadavg_after_build']} after)"
             if "build_seconds" in variant else "reused")
    room = variant["storage"]
    lines.append(f"  {row['size']:>10,} faces, {label} ({built}): heap {room['heap_per_face']} + vector index "
                 f"{room['vector_index_per_face']} = {room['heap_and_vector_index_per_face']} bytes per face (other "
                 f"indexes {room['other_indexes_per_face']}); shared_buffers {room['shared_buffers']}, "
                 f"{variant['prewarmed_blocks']} index blocks prewarmed")
    lines.append(f"    p50 {variant['p50_ms']} ms, p95 {variant['p95_ms']} ms, recall@10 {variant['recall_at_10']} "
                 f"(exact search p50 {variant['exact_p50_ms']} ms); load average {variant['loadavg_before_queries']} "
                 f"before the queries, {variant['loadavg_after_queries']} after")
    for scope, figures in variant["by_scope"].items():
        lines.append(f"      {scope:<16} {figures['queries']:>4} queries: p50 {figures['p50_ms']} ms, p95 "
                     f"{figures['p95_ms']} ms, recall@10 {figures['recall_at_10']} (min "
                     f"{figures['min_recall_at_10']}), short results {figures['short_results']}; "
                     f"{figures['plan']}")
        if "numpy_p50_ms" in figures:
            lines.append(f"        exact numpy over the same visible rows: p50 {figures['numpy_p50_ms']} ms, p95 "
                         f"{figures['numpy_p95_ms']} ms; p95 / numpy p95 {figures['p95_over_numpy_p95']}; "
                         f"recall@10 against it {figures['recall_at_10_vs_numpy']} (min "
                         f"{figures['min_recall_at_10_vs_numpy']}); the database's exact scan names "
                         f"{figures['exact_scan_vs_numpy']:.2%} of numpy's ten")
        if "faiss_p50_ms" in figures:
            lines.append(f"        FAISS HNSW over the same rows: p50 {figures['faiss_p50_ms']} ms, p95 "
                         f"{figures['faiss_p95_ms']} ms; p95 / FAISS p95 {figures['p95_over_faiss_p95']}; FAISS "
                         f"recall@10 against numpy {figures['faiss_recall_at_10_vs_numpy']}")
        if "breakdown" in figures:
            b = figures["breakdown"]
            lines.append(f"        breakdown: call p50 {figures['p50_ms']} / p95 {figures['p95_ms']} ms, server "
                         f"(planning + execution) p50 {b['server_p50_ms']} / p95 {b['server_p95_ms']} ms, call / "
                         f"server p50 {b['call_over_server_p50']}, client CPU p50 {b['call_cpu_p50_ms']} ms; previous path "
                         f"p50 {b['previous_p50_ms']} / p95 {b['previous_p95_ms']} ms (previous / server p50 "
                         f"{b['previous_over_server_p50']}, client CPU p50 {b['previous_cpu_p50_ms']} ms); "
                         f"call / previous p50 {b['call_over_previous_p50']}, p95 {b['call_over_previous_p95']}")
    return lines


def _engine_text(report: dict, lines: list[str]) -> str:
    if "ingest" not in report:
        return "\n".join(lines)
    ingest = report["ingest"]
    lines.append(f"Ingest: {ingest['pictures']} pictures ({ingest['faces']} faces) in {ingest['seconds']} s: "
                 f"{ingest['pictures_per_second']} pictures/s in one process, {ingest['pictures_per_cpu_second']} "
                 f"per CPU-second." + (f" Refused: {', '.join(ingest['refused'])}." if ingest["refused"] else ""))
    lines.append(f"End to end (search_run, model warm, {report['end_to_end']['faces_visible_to_the_tenant']:,} faces "
                 f"visible to the tenant):")
    for variant in ("original", "scaled_2500"):
        figures = report["end_to_end"][variant]
        lines.append(f"  {variant:<12} {figures['n']} searches: median {figures['median_ms']} ms, p95 "
                     f"{figures['p95_ms']} ms, max {figures['max_ms']} ms (detect median {figures['detect_median_ms']}"
                     f" ms, query median {figures['query_median_ms']} ms, p95 {figures['query_p95_ms']} ms)"
                     + (f"; no face found in {', '.join(figures['no_face'])}" if figures["no_face"] else ""))
    return "\n".join(lines)

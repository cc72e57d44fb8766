"""`bench_load`: the REST search under load, through gunicorn, against a real gallery.

Everything runs in a throw-away database (default `portal_bench_load`, made and dropped as
bench_search does) with pictures in a temporary media folder. The gallery is real: the pictures
of ../shared/faces enrolled through the face engine into one tenant, optionally padded with
synthetic faces (bench_search's) so the index has a realistic size. Gunicorn serves the portal
with --workers sync workers on a free port of 127.0.0.1; only that address is ever sent a request.

For each number of concurrent clients (default 1 2 4 8 16), each client posts the real pictures in
turn to POST /api/v1/searches for --duration seconds, with one API key of its own. Printed per
level: searches answered 201 and their rate, p50/p95/p99 latency of those, 5xx answers, other
failures (connection errors, other statuses) and 429 (rate limit) answers, each counted apart;
and searches/s per busy core against the one-client figure (one client keeps one core busy: the
workers scan HOG in one thread, --hog-threads 1, unless told otherwise; with the portal's default of
2, a lone search also uses part of the second core, so that ratio reads low and the searches per
worker CPU-second are the figure to compare).
The tenant's rate limits are raised for the run unless --keep-rate-limits.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from portal.api.models import ApiKeyScope
from portal.api.services import api_key_create, tenant_api_settings_set
from portal.audit.services import Actor
from portal.faces.errors import FaceEngineError
from portal.gallery.face_index import HNSW_EF_CONSTRUCTION, HNSW_M, face_index_drop_sql
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.search.management.commands.bench_search import (PICTURE_SUFFIXES, SyntheticSpace, _bench_database,
                                                             _index_build, _owner_session, _synthetic_load)
from tenants.context import dangerously_unscoped
from tenants.models import Tenant

ACTOR = Actor.system("command: bench_load")
HOST = "127.0.0.1"  # the load goes to this machine's loopback only
UNLIMITED = "1000000/minute"


@dataclass
class Level:
    clients: int
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0  # the gunicorn workers' CPU time during the level
    latencies: list[float] = field(default_factory=list)
    server_errors: int = 0
    rate_limited: int = 0
    other_errors: int = 0
    other_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, *, status: int | None, seconds: float, detail: str = "") -> None:
        with self.lock:
            if status == 201:
                self.latencies.append(seconds)
            elif status == 429:
                self.rate_limited += 1
            elif status is not None and status >= 500:
                self.server_errors += 1
            else:
                self.other_errors += 1
                if len(self.other_samples) < 3:
                    self.other_samples.append(detail or f"HTTP {status}")

    def figures(self, *, single_rate: float | None, cores: int, workers: int) -> dict:
        ms = np.array(self.latencies) * 1000
        rate = len(ms) / self.seconds if self.seconds else 0.0
        busy = min(self.clients, workers, cores)
        per_core = rate / busy
        answered = len(ms) + self.server_errors + self.rate_limited + self.other_errors
        return {"clients": self.clients, "searches": len(ms), "seconds": round(self.seconds, 1),
                "searches_per_second": round(rate, 2), "per_core": round(per_core, 2),
                "per_core_vs_one_client": round(per_core / single_rate, 2) if single_rate else 1.0,
                "worker_cpu_seconds": round(self.server_cpu_seconds, 1),
                "searches_per_worker_cpu_second": round(len(ms) / self.server_cpu_seconds, 2)
                if self.server_cpu_seconds and answered == len(ms) else None,
                "p50_ms": _pct(ms, 50), "p95_ms": _pct(ms, 95), "p99_ms": _pct(ms, 99),
                "server_errors_5xx": self.server_errors, "rate_limited_429": self.rate_limited,
                "other_errors": self.other_errors, "other_error_samples": self.other_samples}


def _pct(values: np.ndarray, q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


class Command(BaseCommand):
    help = ("Drives the REST search with 1 to 16 concurrent clients through gunicorn against a real gallery in a "
            "throw-away database, and prints throughput, latency percentiles and errors per level.")

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8, 16])
        parser.add_argument("--duration", type=float, default=20.0, help="Seconds per level (default 20).")
        parser.add_argument("--workers", type=int, default=2, help="Gunicorn sync workers (default 2).")
        parser.add_argument("--hog-threads", type=int, choices=[1, 2], default=1,
                            help="FACE_HOG_THREADS for the workers (default 1: one busy core per client).")
        parser.add_argument("--padding", type=int, default=0,
                            help="Synthetic faces added to the tenant's gallery beside the real ones (default 0).")
        parser.add_argument("--pictures", type=int, default=None, help="Use only the first N pictures.")
        parser.add_argument("--faces-dir", default=None, help="The pictures (default FACES_DIR or ../shared/faces).")
        parser.add_argument("--database", default="portal_bench_load",
                            help="The throw-away database (its name must contain 'bench').")
        parser.add_argument("--keep-rate-limits", action="store_true",
                            help="Keep the platform's rate limits (429 answers are then expected and counted).")
        parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")

    def handle(self, *args, **options):
        levels = sorted(set(options["clients"]))
        if not levels or levels[0] < 1 or options["duration"] <= 0 or options["workers"] < 1:
            raise CommandError("--clients, --duration and --workers must be positive.")
        name = options["database"]
        if "bench" not in name or name == connection.settings_dict["NAME"]:
            raise CommandError(f"--database {name!r} must be a separate database whose name contains 'bench'.")
        folder = Path(options["faces_dir"] or os.environ.get("FACES_DIR") or settings.BASE_DIR.parent / "shared" / "faces")
        pictures = sorted(p for p in folder.glob("*") if p.suffix.lower() in PICTURE_SUFFIXES)[:options["pictures"]]
        if not pictures:
            raise CommandError(f"No pictures in {folder}: pass --faces-dir or set FACES_DIR.")
        cores = os.cpu_count() or 1
        report = {"machine": {"cpus": cores, "loadavg_start": [round(x, 2) for x in os.getloadavg()]},
                  "workers": options["workers"], "hog_threads": options["hog_threads"],
                  "duration_s": options["duration"]}
        media = Path(tempfile.mkdtemp(prefix="bench-load-media-"))
        try:
            with override_settings(MEDIA_ROOT=media), _bench_database(name=name, keep=False, reuse=False):
                tenant, keys, gallery = self._gallery(pictures=pictures, clients=max(levels), options=options,
                                                      name=name)
                report["gallery"] = gallery
                with _Gunicorn(database=name, media=media, workers=options["workers"],
                               hog_threads=options["hog_threads"]) as server:
                    probes = [(p.name, p.read_bytes()) for p in pictures]
                    self._progress(f"warming up {options['workers']} workers")
                    _drive(url=server.url, keys=keys, probes=probes, clients=options["workers"],
                           seconds=None, requests_each=2)
                    results, single = [], None
                    for clients in levels:
                        self._progress(f"{clients} clients for {options['duration']} s")
                        cpu_before = server.workers_cpu_seconds()
                        level = _drive(url=server.url, keys=keys, probes=probes, clients=clients,
                                       seconds=options["duration"])
                        level.server_cpu_seconds = server.workers_cpu_seconds() - cpu_before
                        if single is None and clients == 1:
                            single = len(level.latencies) / level.seconds if level.seconds else None
                        results.append(level.figures(single_rate=single, cores=cores, workers=options["workers"]))
                        self._progress(json.dumps(results[-1]))
                    report["levels"] = results
                    report["server_log_tail"] = server.log_tail() if any(
                        r["server_errors_5xx"] or r["other_errors"] for r in results) else ""
        finally:
            shutil.rmtree(media, ignore_errors=True)
        report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else _text(report))

    def _progress(self, message: str) -> None:
        self.stderr.write(f"[bench_load] {message}")

    def _gallery(self, *, pictures: list[Path], clients: int, options, name: str):
        tenant = _tenant_create()
        enrolled = faces = 0
        self._progress(f"enrolling {len(pictures)} pictures through the face engine")
        for picture in pictures:
            try:
                result = image_ingest(tenant=tenant, data=picture.read_bytes(), actor=ACTOR,
                                      legal_basis=LegalBasis.OTHER)
            except FaceEngineError:
                continue
            enrolled += result.created
            faces += len(result.faces)
        if options["padding"]:
            self._progress(f"padding the gallery with {options['padding']:,} synthetic faces")
            with _owner_session(name=name) as owner:
                with owner.cursor() as cursor:
                    cursor.execute(face_index_drop_sql())  # built once, after the load
                _synthetic_load(owner, space=SyntheticSpace.create(centres=2000, seed=7), count=options["padding"],
                                galleries=[tenant], weights=np.array([0.0, 1.0]))
                _index_build(owner, memory="1GB", m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
        if not options["keep_rate_limits"]:
            tenant_api_settings_set(tenant=tenant, rate_limit_per_key=UNLIMITED, rate_limit_per_tenant=UNLIMITED,
                                    actor=ACTOR)
        keys = [api_key_create(tenant=tenant, name=f"load client {n}", scopes=[ApiKeyScope.SEARCH], actor=ACTOR)[1]
                for n in range(clients)]
        return tenant, keys, {"pictures_enrolled": enrolled, "faces": faces + options["padding"],
                              "synthetic_padding": options["padding"],
                              "rate_limits": "platform's" if options["keep_rate_limits"] else UNLIMITED}


@dangerously_unscoped(reason="load benchmark tenant")
def _tenant_create() -> Tenant:
    slug = f"bench-load-{uuid.uuid4().hex[:8]}"
    return Tenant.objects.create(slug=slug, name="Load benchmark", kind=Tenant.Kind.OTHER, home_country="GB",
                                 may_search_platform_index=False, case_reference_required=False)


class _Gunicorn:
    """gunicorn serving the portal on the benchmark database, on a free loopback port."""

    def __init__(self, *, database: str, media: Path, workers: int, hog_threads: int) -> None:
        with socket.socket() as probe:
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
        self.url = f"http://{HOST}:{port}/api/v1/searches"
        self.log = Path(tempfile.mkstemp(prefix="bench-load-gunicorn-", suffix=".log")[1])
        env = {**os.environ, "PORTAL_DATABASE_NAME": database, "PORTAL_MEDIA_ROOT": str(media),
               "FACE_HOG_THREADS": str(hog_threads)}
        self.command = [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"{HOST}:{port}",
                        "--workers", str(workers), "--timeout", "120", "--access-logfile", "-"]
        self.env, self.port = env, port
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "_Gunicorn":
        self.process = subprocess.Popen(self.command, cwd=settings.BASE_DIR, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn stopped at start:\n{self.log_tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise CommandError(f"gunicorn did not listen within 60 s:\n{self.log_tail()}")

    def workers_cpu_seconds(self) -> float:
        """User and system CPU time of the master's worker processes, from /proc (Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a process that ended meanwhile
            if int(fields[1]) == self.process.pid:  # ppid
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def _drive(*, url: str, keys: list[str], probes: list[tuple[str, bytes]], clients: int, seconds: float | None,
           requests_each: int | None = None) -> Level:
    """`clients` threads, each posting the probes in turn for `seconds` (or `requests_each` times)."""
    level = Level(clients=clients)
    stop_at = None if seconds is None else time.monotonic() + seconds

    def client(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Api-Key {keys[number % len(keys)]}"
        sent = 0
        while True:
            if stop_at is not None and time.monotonic() >= stop_at:
                break
            if requests_each is not None and sent >= requests_each:
                break
            name, data = probes[(number + sent) % len(probes)]
            sent += 1
            started = time.perf_counter()
            try:
                answer = session.post(url, files={"picture": (name, data)}, data={"k": "10"}, timeout=120)
            except requests.RequestException as error:
                level.record(status=None, seconds=time.perf_counter() - started, detail=type(error).__name__)
                continue
            detail = "" if answer.status_code in (201, 429) else f"HTTP {answer.status_code}: {answer.text[:200]}"
            level.record(status=answer.status_code, seconds=time.perf_counter() - started, detail=detail)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.seconds = time.monotonic() - started
    return level


def _text(report: dict) -> str:
    machine = report["machine"]
    gallery = report["gallery"]
    lines = [f"Machine: {machine['cpus']} CPUs, load average {machine['loadavg_start']} at the start, "
             f"{machine['loadavg_end']} at the end.",
             f"gunicorn, {report['workers']} sync workers, HOG in {report['hog_threads']} thread(s); "
             f"gallery of {gallery['faces']:,} faces "
             f"({gallery['pictures_enrolled']} real pictures enrolled, {gallery['synthetic_padding']:,} synthetic); "
             f"{report['duration_s']} s per level; rate limits {gallery['rate_limits']}.",
             f"{'clients':>7} {'searches':>8} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'5xx':>5} "
             f"{'429':>5} {'other':>5} {'per core':>8} {'vs 1 client':>11} {'per CPU-s':>9}"]
    for row in report["levels"]:
        lines.append(f"{row['clients']:>7} {row['searches']:>8} {row['searches_per_second']:>7} {row['p50_ms']!s:>8} "
                     f"{row['p95_ms']!s:>8} {row['p99_ms']!s:>8} {row['server_errors_5xx']:>5} "
                     f"{row['rate_limited_429']:>5} {row['other_errors']:>5} {row['per_core']:>8} "
                     f"{row['per_core_vs_one_client']:>11} {row['searches_per_worker_cpu_second']!s:>9}")
        if row["other_error_samples"]:
            lines.append(f"        other errors, e.g.: {'; '.join(row['other_error_samples'])}")
    lines.append("per core: searches/s divided by the cores kept busy (clients, at most the workers and the CPUs); "
                 "vs 1 client: that figure over the one-client searches/s; per CPU-s: searches per second of the "
                 "workers' own CPU time (the figure a shared machine's load does not change).")
    if report.get("server_log_tail"):
        lines.append("gunicorn's log (tail):\n" + report["server_log_tail"])
    return "\n".join(lines)

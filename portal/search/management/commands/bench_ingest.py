"""`bench_ingest`: import_images throughput at 1 and 2 workers, warm search end to end, and the
cost of the CNN detector on misses, measured on this machine in the same run.

Runs in a separate database (default `portal_bench_ingest`, made, migrated and dropped the way
bench_search does) with pictures in a temporary media folder, so the developer's gallery never
sees a benchmark picture.

Measured:
  ingest       `import_images --workers N` wall time on the ../shared/faces pictures (--rounds
               re-encoded copies, so every picture is new), worker start-up included and also
               given alone; pictures/s, per core, and the ratio to one worker (HOG in one thread
               a process, as import_images' workers run it, so one worker is the one-core reference)
  end to end   search_run on the same pictures as probes, model warm, as they are (up to 2,333 px)
               and scaled to 2,500 px on the long side: p50/p95 (detection + embedding + query)
  misses       faces_detect with and without the CNN fallback on pictures where HOG finds
               nothing: a drawn scene without people and a tilted, bearded face

Ingest and end to end run once per --engines variant, in the same run, with the ratios to the last
one (the reference). The variants (ENGINES): "now", the defaults; "dlib-cnn", the CNN fallback's
network in dlib-bin instead of numpy (the previous version); "one-scan", that and HOG as one dlib
scan instead of two halves at once; "dlib", that and the descriptor network in dlib-bin. Default:
now, then one-scan. The misses are timed with HOG alone, then with the CNN fallback's network on
numpy and in dlib-bin (the reference), whatever the variants.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import resource
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from PIL import Image as PILImage, ImageDraw

from portal.faces.engine import EngineConfig, FaceEngine, face_engine, face_engine_forget
from portal.gallery.ingest_workers import DetectionPool, cores_available
from portal.gallery.models import LegalBasis
from portal.search.management.commands import bench_search
from portal.search.management.commands.bench_search import (
    _bench_database, _distinct_copy, _ms_summary, _tenant_create,
)

# Each variant's engine settings, and the environment variables that give them to import_images' workers.
ENGINES = {
    "now": {"descriptor": "numpy", "hog_scan": "halves", "cnn_network": "numpy"},
    "dlib-cnn": {"descriptor": "numpy", "hog_scan": "halves", "cnn_network": "dlib"},
    "one-scan": {"descriptor": "numpy", "hog_scan": "whole", "cnn_network": "dlib"},
    "dlib": {"descriptor": "dlib", "hog_scan": "whole", "cnn_network": "dlib"},
}
_ENVIRONMENT = {"descriptor": "FACE_DESCRIPTOR", "hog_scan": "FACE_HOG_SCAN", "hog_threads": "FACE_HOG_THREADS",
                "cnn_network": "FACE_CNN_NETWORK"}

# import_images's summary line; only the figures read here are named, so a clause added to it
# (as "new evidence recorded on N" was) does not break the benchmark.
_REPORT = re.compile(r"Imported (?P<imported>\d+) picture\(s\) with (?P<faces>\d+) face\(s\);.*?"
                     r"(?P<failed>\d+) failed\.")


class Command(BaseCommand):
    help = ("Benchmarks import_images at 1 and 2 workers (pictures/s, per core, ratio), warm search end to end "
            "(p50/p95) and the CNN detector's cost on misses, in a separate database.")

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                            help="Worker counts to compare; the first is the reference (default 1 2).")
        parser.add_argument("--rounds", type=int, default=3,
                            help="Re-encoded copies of the picture set per import (default 3).")
        parser.add_argument("--search-rounds", type=int, default=2, help="Passes over the probes (default 2).")
        parser.add_argument("--miss-rounds", type=int, default=3, help="Passes over the misses (default 3).")
        parser.add_argument("--faces-dir", default=None, help="The test pictures (default ../shared/faces).")
        parser.add_argument("--database", default="portal_bench_ingest",
                            help="The benchmark database (its name must contain 'bench').")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
        parser.add_argument("--engines", nargs="+", choices=list(ENGINES), default=["now", "one-scan"],
                            help="Engine variants, each measured; the last is the reference (default now one-scan).")
        parser.add_argument("--json", action="store_true", help="Print the figures as one JSON object.")

    def handle(self, *args, **options):
        if min(options["workers"]) < 1 or min(options["rounds"], options["search_rounds"], options["miss_rounds"]) < 1:
            raise CommandError("--workers and the rounds must be at least 1.")
        name = options["database"]
        if "bench" not in name:
            raise CommandError(f"--database {name!r} must be a separate database whose name contains 'bench'.")
        searcher = bench_search.Command(stdout=self.stdout, stderr=self.stderr)
        pictures = searcher._pictures({"faces_dir": options["faces_dir"], "pictures": None})

        report = {"machine": {"cores": cores_available(), "loadavg_start": _loadavg()}, "database": name}
        scratch = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        try:
            with override_settings(MEDIA_ROOT=scratch / "media"), _bench_database(name=name, keep=options["keep"],
                                                                               reuse=False):
                report["runs"] = []
                for variant in options["engines"]:
                    ingest, tenant = self._ingest(pictures=pictures, scratch=scratch, options=options,
                                                  variant=variant)
                    with _engine_used(variant):
                        self._progress(f"engine {variant} {ENGINES[variant]}: warming up")
                        engine = face_engine()
                        engine.faces_detect(data=pictures[0].read_bytes())
                        used = {key: getattr(engine.config, key) for key in (*ENGINES[variant], "hog_threads")}
                        end_to_end = searcher._search_benchmark(tenant=tenant, pictures=pictures,
                                                                rounds=options["search_rounds"])
                    report["runs"].append({"engine": variant, "settings": used, "ingest": ingest,
                                           "end_to_end": end_to_end})
                _ratios_to_reference(runs=report["runs"])
                with _engine_used(options["engines"][0]):
                    report["misses"] = self._misses(pictures=pictures, rounds=options["miss_rounds"])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        report["machine"]["loadavg_end"] = _loadavg()
        self.stdout.write(json.dumps(report, indent=2) if options["json"] else _text(report))

    def _progress(self, message: str) -> None:
        self.stderr.write(f"[bench] {message}")

    def _ingest(self, *, pictures: list[Path], scratch: Path, options, variant: str) -> tuple[dict, object]:
        folder = scratch / "pictures"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for round_number in range(options["rounds"]):
            for picture in pictures:
                suffix = ".png" if picture.suffix.lower() == ".png" else ".jpg"
                (folder / f"r{round_number}-{picture.stem}{suffix}").write_bytes(
                    _distinct_copy(picture, round_number=round_number))

        rows, first_tenant = [], None
        # One worker runs in this process: with HOG in one thread, as in each spawned worker, it is the
        # one-core reference the per-core figures and the ratio to one worker need.
        with _engine_used(variant, hog_threads=1):
            for workers in options["workers"]:
                startup = None
                if workers > 1:
                    # Start-up alone: spawn, Django set-up and the model, once per worker.
                    started = time.perf_counter()
                    pool = DetectionPool(workers=workers)
                    for future in [pool.submit(b"") for _ in range(workers * 4)]:
                        future.result()
                    pool.close()
                    startup = round(time.perf_counter() - started, 2)
                tenant = _tenant_create(slug=f"bench-ingest-{workers}-{uuid.uuid4().hex[:6]}", entitled=False)
                first_tenant = first_tenant or tenant
                self._progress(f"ingest: {workers} worker(s), {options['rounds']} x {len(pictures)} pictures")
                out, err = StringIO(), StringIO()
                hog_threads = face_engine().config.hog_threads  # loaded before the clock starts
                started, cpu = time.perf_counter(), _cpu_seconds()
                call_command("import_images", str(folder), tenant=tenant.slug, legal_basis=LegalBasis.OTHER,
                             workers=workers, no_progress=True, stdout=out, stderr=err)
                seconds = time.perf_counter() - started
                # The workers have been joined by now, so their CPU time is in RUSAGE_CHILDREN.
                cpu = _cpu_seconds() - cpu
                counts = _REPORT.search(out.getvalue())
                if counts is None:
                    raise CommandError(f"import_images gave no report: {out.getvalue()} {err.getvalue()}")
                imported, faces = int(counts["imported"]), int(counts["faces"])
                rate = imported / seconds
                rows.append({"workers": workers, "hog_threads": hog_threads, "pictures": imported, "faces": faces,
                             "failed": int(counts["failed"]), "seconds": round(seconds, 2),
                             "cpu_seconds": round(cpu, 2), "pictures_per_cpu_second": round(imported / cpu, 2),
                             "worker_startup_seconds": startup, "pictures_per_second": round(rate, 2),
                             "pictures_per_second_per_core": round(rate / min(workers, cores_available()), 2)})
                self._progress(f"ingest: {rows[-1]}")
        reference = rows[0]["pictures_per_second"]
        for row in rows:
            row["ratio_to_first"] = round(row["pictures_per_second"] / reference, 2) if reference else None
        return {"rows": rows}, first_tenant

    def _misses(self, *, pictures: list[Path], rounds: int) -> dict:
        folder = pictures[0].parent
        misses = {"scene without people 1600x1073": _scene_jpeg(size=(1600, 1073)),
                  "scene without people 2500x1676": _scene_jpeg(size=(2500, 1676))}
        if (folder / "kit_harington_3.jpg").is_file():
            misses["tilted bearded face 1600x1073"] = _tilted_jpeg(folder / "kit_harington_3.jpg")
        config = EngineConfig.from_settings()
        engines = {"hog only": FaceEngine(config=dataclasses.replace(config, cnn_fallback=False)),
                   "hog then cnn": FaceEngine(config=dataclasses.replace(config, cnn_network="numpy")),
                   "hog then dlib's cnn": FaceEngine(config=dataclasses.replace(config, cnn_network="dlib"))}
        figures = {"cnn_max_side": config.cnn_max_side, "cnn_upsample": config.cnn_upsample}
        for label, data in misses.items():
            row = {}
            for engine_label, engine in engines.items():
                seconds, found = [], None
                for _ in range(rounds):
                    started = time.perf_counter()
                    result = engine.faces_detect(data=data)
                    seconds.append(time.perf_counter() - started)
                    found = [face.detector for face in result.faces]
                row[engine_label] = {**_ms_summary(seconds), "faces": found}
            hog_only = row["hog only"]["median_ms"]
            row["extra_median_ms"] = round(row["hog then cnn"]["median_ms"] - hog_only, 1)
            row["dlib_extra_median_ms"] = round(row["hog then dlib's cnn"]["median_ms"] - hog_only, 1)
            row["extra_ratio_to_dlib"] = (round(row["extra_median_ms"] / row["dlib_extra_median_ms"], 3)
                                          if row["dlib_extra_median_ms"] > 0 else None)
            figures[label] = row
            self._progress(f"misses: {label}: {row}")
        return figures


@contextmanager
def _engine_used(variant: str, **changed):
    """The variant's engine, with any setting changed, in this process (settings) and in the workers it
    spawns (environment)."""
    chosen = {**ENGINES[variant], **changed}
    previous = {name: os.environ.get(name) for name in _ENVIRONMENT.values()}
    os.environ.update({_ENVIRONMENT[key]: str(value) for key, value in chosen.items()})
    face_engine_forget()
    try:
        with override_settings(FACE_ENGINE={**settings.FACE_ENGINE, **chosen}):
            yield
    finally:
        face_engine_forget()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ratios_to_reference(*, runs: list[dict]) -> None:
    """Each run's pictures/s and search p50/p95 over the last run's (the reference), row by row."""
    reference = runs[-1]
    for run in runs:
        for row, base in zip(run["ingest"]["rows"], reference["ingest"]["rows"]):
            row["ratio_to_reference"] = round(row["pictures_per_second"] / base["pictures_per_second"], 2)
        for variant in ("original", "scaled_2500"):
            mine, base = run["end_to_end"][variant], reference["end_to_end"][variant]
            mine["p50_p95_ratio_to_reference"] = [round(mine["median_ms"] / base["median_ms"], 2),
                                                  round(mine["p95_ms"] / base["p95_ms"], 2)]


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the workers, once joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _scene_jpeg(*, size: tuple[int, int]) -> bytes:
    """A drawn landscape: sky, sun, hills, a house; nothing a detector should call a face."""
    width, height = size
    scene = PILImage.new("RGB", size, (135, 185, 235))
    draw = ImageDraw.Draw(scene)
    draw.ellipse((width * 0.75, height * 0.08, width * 0.87, height * 0.26), fill=(250, 220, 90))
    draw.polygon([(0, height * 0.6), (width * 0.3, height * 0.35), (width * 0.6, height * 0.62),
                  (width, height * 0.4), (width, height), (0, height)], fill=(70, 130, 60))
    draw.rectangle((width * 0.4, height * 0.55, width * 0.55, height * 0.8), fill=(190, 90, 60))
    return _jpeg(scene)


def _tilted_jpeg(picture: Path) -> bytes:
    """The picture tilted by 35 degrees on a 1,600 x 1,073 canvas: HOG misses the face, the CNN finds it."""
    with PILImage.open(picture) as source:
        tilted = source.convert("RGB").rotate(35, resample=PILImage.BICUBIC)
    tilted = tilted.resize((round(tilted.width * 1073 / tilted.height), 1073), PILImage.LANCZOS)
    canvas = PILImage.new("RGB", (1600, 1073), (128, 128, 128))
    canvas.paste(tilted, ((1600 - tilted.width) // 2, 0))
    return _jpeg(canvas)


def _jpeg(picture: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _text(report: dict) -> str:
    machine = report["machine"]
    lines = [f"Machine: {machine['cores']} cores, load average {machine['loadavg_start']} at the start, "
             f"{machine['loadavg_end']} at the end."]
    reference = report["runs"][-1]["engine"]
    for run in report["runs"]:
        lines.append(f"Ingest, engine {run['engine']} {run['settings']} (import_images, HOG in one thread a "
                     "process, wall time including worker start-up):")
        for row in run["ingest"]["rows"]:
            startup = f", start-up alone {row['worker_startup_seconds']} s" if row["worker_startup_seconds"] else ""
            lines.append(f"  {row['workers']} worker(s): {row['pictures']} pictures ({row['faces']} faces) in "
                         f"{row['seconds']} s = {row['pictures_per_second']} pictures/s, "
                         f"{row['pictures_per_second_per_core']} per core, x{row['ratio_to_first']} the first, "
                         f"x{row['ratio_to_reference']} {reference}'s; "
                         f"{row['pictures_per_cpu_second']} per CPU-second{startup}")
        lines.append(f"Search end to end, engine {run['engine']} (warm; detection + embedding + query):")
        for variant in ("original", "scaled_2500"):
            row = run["end_to_end"][variant]
            ratios = row["p50_p95_ratio_to_reference"]
            lines.append(f"  {variant}: n={row['n']} p50 {row['median_ms']} ms, p95 {row['p95_ms']} ms, max "
                         f"{row['max_ms']} ms (detection median {row['detect_median_ms']} ms, query median "
                         f"{row['query_median_ms']} ms); p50 x{ratios[0]}, p95 x{ratios[1]} {reference}'s")
    misses = report["misses"]
    lines.append(f"Misses (CNN at {misses['cnn_max_side']} px, upsampling {misses['cnn_upsample']}):")
    for label, row in misses.items():
        if isinstance(row, dict):
            dlibs = row["hog then dlib's cnn"]
            lines.append(f"  {label}: HOG only {row['hog only']['median_ms']} ms {row['hog only']['faces']}, "
                         f"HOG then CNN {row['hog then cnn']['median_ms']} ms {row['hog then cnn']['faces']} "
                         f"(+{row['extra_median_ms']} ms), with dlib's CNN {dlibs['median_ms']} ms "
                         f"(+{row['dlib_extra_median_ms']} ms); the CNN's cost x{row['extra_ratio_to_dlib']} dlib's")
    return "\n".join(lines)

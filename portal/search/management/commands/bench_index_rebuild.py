"""Rebuilds the HNSW graphs of a database that `bench_search --keep` made, with other build
parameters, while searches keep running on it, and prints what the searches saw meanwhile.

    manage.py bench_index_rebuild --database portal_bench_search --m 32 --ef-construction 256

`face_index_rebuild` (portal/gallery/face_index.py, how migration gallery.0011 ran) works in a
thread on the owner's connection; the main thread searches without pause through the project's
own statement (`tenant_faces_nearest`), each probe a face of the gallery, so that the face itself
is the expected first answer. Printed: the rebuild's duration, the searches served during it,
their latency (p50, p95, max), how many found their own face first, and errors (any is a
failure: the rebuild must not stop or break a search); then the index's parameters after it.
"""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from portal.gallery.face_index import FACE_INDEX_NAME, HNSW_EF_CONSTRUCTION, HNSW_M, face_index_rebuild
from portal.search.management.commands.bench_search import (K, _ms_summary, _owner_session, kept_database,
                                                            kept_database_arguments)
from portal.search.selectors import tenant_faces_nearest
from tenants.context import tenant_scope

_PROBES = 200


class Command(BaseCommand):
    help = "Rebuilds a kept benchmark database's HNSW graphs while searching it; prints what the searches saw."

    def add_arguments(self, parser):
        kept_database_arguments(parser)
        parser.add_argument("--m", type=int, default=HNSW_M, help=f"HNSW m of the new graphs (default {HNSW_M}).")
        parser.add_argument("--ef-construction", type=int, default=HNSW_EF_CONSTRUCTION,
                            help=f"HNSW ef_construction of the new graphs (default {HNSW_EF_CONSTRUCTION}).")

    def handle(self, *args, **options):
        # Reused as kept: only migrations not yet applied run, before the rebuild starts.
        with kept_database(options) as (name, galleries):
            with _owner_session(name=name) as owner:
                probes = owner.execute(
                    "SELECT id, tenant_id, embedding::float4[] FROM gallery_face WHERE tenant_id IS NOT NULL "
                    "ORDER BY random() LIMIT %s", [_PROBES]).fetchall()
                before = _index_options(owner)
            if not probes:
                raise CommandError(f"{name} holds no tenant's face: make it with bench_search --keep first.")
            by_id = {tenant.pk: tenant for tenant in galleries}
            report = {"database": name, "faces_probed": len(probes), "index_before": before,
                      "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
            report.update(self._rebuild_while_searching(name=name, options=options, probes=probes, tenants=by_id))
            with _owner_session(name=name) as owner:
                report["index_after"] = _index_options(owner)
            report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(_text(report))
        if report["errors"]:
            raise CommandError(f"{len(report['errors'])} searches failed during the rebuild: {report['errors'][:3]}")

    def _rebuild_while_searching(self, *, name: str, options, probes: list, tenants: dict) -> dict:
        outcome: dict = {}

        def rebuild():
            started = time.perf_counter()
            try:
                with _owner_session(name=name) as owner:
                    face_index_rebuild(owner, m=options["m"], ef_construction=options["ef_construction"])
            except Exception as error:  # reported, and the command fails
                outcome["error"] = f"{type(error).__name__}: {error}"
            outcome["seconds"] = time.perf_counter() - started

        worker = threading.Thread(target=rebuild, name="face-index-rebuild")
        latencies, own_first, errors = [], 0, []
        worker.start()
        turn = 0
        while worker.is_alive():
            face_id, tenant_id, embedding = probes[turn % len(probes)]
            turn += 1
            tenant = tenants[tenant_id]
            started = time.perf_counter()
            try:
                with tenant_scope(tenant):
                    found = tenant_faces_nearest(tenant=tenant, embedding=np.asarray(embedding, dtype=np.float32),
                                                 k=K, include_platform_index=tenant.may_search_platform_index)
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            latencies.append(time.perf_counter() - started)
            own_first += bool(found) and found[0].face_id == face_id
        worker.join()
        if "error" in outcome:
            errors.append(f"the rebuild: {outcome['error']}")
        return {"rebuild_seconds": round(outcome["seconds"], 1), "searches": len(latencies),
                "searches_per_second": round(len(latencies) / max(outcome["seconds"], 1e-9), 1),
                "latency": _ms_summary(latencies) if latencies else {}, "own_face_first": own_first,
                "errors": errors}


def _index_options(owner) -> dict:
    """The face index's build parameters and whether it is valid, as PostgreSQL has them."""
    row = owner.execute("SELECT c.reloptions, x.indisvalid FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid "
                        "WHERE c.relname = %s", [FACE_INDEX_NAME]).fetchone()
    if row is None:
        return {}
    options = dict(option.split("=", 1) for option in row[0] or [])
    return {"m": int(options.get("m", 0)), "ef_construction": int(options.get("ef_construction", 0)), "valid": row[1]}


def _text(report: dict) -> str:
    latency = report["latency"]
    before, after = report["index_before"], report["index_after"]
    lines = [
        f"Database {report['database']}: load average {report['loadavg_start']} at the start, "
        f"{report['loadavg_end']} at the end.",
        f"Index before: m {before.get('m')}, ef_construction {before.get('ef_construction')}; after: "
        f"m {after.get('m')}, ef_construction {after.get('ef_construction')}, valid {after.get('valid')}.",
        f"Rebuild: {report['rebuild_seconds']} s. Searches meanwhile: {report['searches']} "
        f"({report['searches_per_second']}/s), errors {len(report['errors'])}.",
    ]
    if latency:
        lines.append(f"Their latency: p50 {latency['median_ms']} ms, p95 {latency['p95_ms']} ms, max {latency['max_ms']} ms; "
                     f"the probe's own face first in {report['own_face_first']} of {report['searches']}.")
    return "\n".join(lines) + "\n"

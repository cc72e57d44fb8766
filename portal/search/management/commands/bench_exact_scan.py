"""A tenant-only search, scanned exactly and walked through its partition's graph, side by side on
a database that `bench_search --keep` made: what `SEARCH_EXACT_SCAN_BELOW` is chosen from.

    manage.py bench_exact_scan --database portal_bench_search --queries 150

Each query is a face of one tenant's gallery, moved a little (as another picture of the same
person would be), searched through the project's own call (`tenant_faces_nearest`) twice, in an
order drawn per query: once with the threshold above every partition (the exact branch), once
with it below every partition (the graph branch, at the configured ef_search: the planner walks the
partition's HNSW graph, or on a partition it estimates small sorts a scan by the half-precision
distance). Printed: the orders in force (`--orders N` sets N regional ones, as bench_search
does), the partitions' sizes, each branch's p50 and p95 and their ratio, the graph's recall@10
against the exact answer, what the planner made of the graph branch, and the load average before
and after.
"""

from __future__ import annotations

import json
import os
import random
import time

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from portal.search.management.commands.bench_search import (K, _orders_in_force_ensure, _owner_session, _percentile,
                                                            _plan_used, kept_database, kept_database_arguments)
from portal.search.selectors import tenant_faces_nearest
from tenants.context import tenant_scope

# The probe's distance from the face it was drawn from: about 0.97 similar, another picture of the person.
_NOISE = 0.02
EXACT, GRAPH = "exact", "graph"
_THRESHOLDS = {EXACT: 2**31 - 1, GRAPH: -1}  # above every partition; below every one, even a never-analysed one


class Command(BaseCommand):
    help = "Times a tenant-only search scanned exactly and through its partition's graph, interleaved, on a kept database."

    def add_arguments(self, parser):
        kept_database_arguments(parser)
        parser.add_argument("--queries", type=int, default=150, help="Queries, each run both ways (default 150).")
        parser.add_argument("--orders", type=int, default=None,
                            help="Regional orders in force during the queries, as bench_search --orders sets them "
                                 "(default: those the kept database has).")
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args, **options):
        with kept_database(options) as (name, galleries):
            tenants = {tenant.pk: tenant for tenant in galleries}
            with _owner_session(name=name) as owner:
                if options["orders"] is not None:
                    _orders_in_force_ensure(owner, count=options["orders"])
                orders = owner.execute("SELECT count(*) FROM compliance_regulatoryorder WHERE status <> 'draft' "
                                       "AND kind <> 'subject'").fetchone()[0]
                sizes = dict(owner.execute("SELECT tenant_id, count(*) FROM gallery_face WHERE tenant_id IS NOT NULL "
                                           "GROUP BY tenant_id").fetchall())
                probes = owner.execute(
                    "SELECT tenant_id, embedding::float4[] FROM gallery_face WHERE tenant_id IS NOT NULL "
                    "ORDER BY random() LIMIT %s", [options["queries"]]).fetchall()
            if not probes:
                raise CommandError(f"{name} holds no tenant's face: make it with bench_search --keep first.")
            report = {"database": name, "ef_search": settings.SEARCH_HNSW_EF, "queries": len(probes), "orders": orders,
                      "partition_faces": {"min": min(sizes.values()), "max": max(sizes.values())},
                      "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
            report.update(_interleaved(probes=probes, tenants=tenants, seed=options["seed"]))
            report["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        self.stdout.write(json.dumps(report) if options["json"] else _text(report))


def _interleaved(*, probes: list, tenants: dict, seed: int) -> dict:
    order = random.Random(seed)
    noise = np.random.default_rng(seed)
    seconds = {EXACT: [], GRAPH: []}
    recalls = []
    for tenant_id, embedding in probes:
        tenant = tenants[tenant_id]
        probe = np.asarray(embedding, dtype=np.float32) + noise.normal(scale=_NOISE, size=len(embedding)).astype(np.float32)
        found = {}
        for branch in order.sample([EXACT, GRAPH], 2):
            with override_settings(SEARCH_EXACT_SCAN_BELOW=_THRESHOLDS[branch]), tenant_scope(tenant):
                started = time.perf_counter()
                neighbours = tenant_faces_nearest(tenant=tenant, embedding=probe, k=K, include_platform_index=False)
                seconds[branch].append(time.perf_counter() - started)
            found[branch] = [n.face_id for n in neighbours]
        recalls.append(len(set(found[GRAPH]) & set(found[EXACT])) / max(len(found[EXACT]), 1))
    # What the planner made of the graph branch, once per tenant: its partition's HNSW graph, or, on a
    # partition it estimates small, a scan sorted by the half-precision distance ("exact scan"), by
    # partitions.
    plans: dict[str, int] = {}
    with override_settings(SEARCH_EXACT_SCAN_BELOW=_THRESHOLDS[GRAPH]):
        for tenant_id in sorted({tenant_id for tenant_id, _ in probes}):
            embedding = next(np.asarray(e, dtype=np.float32) for t, e in probes if t == tenant_id)
            plan = _plan_used(tenant=tenants[tenant_id], embedding=embedding, nearest=_tenant_only).split(" of ")[0]
            plans[plan] = plans.get(plan, 0) + 1
    summary = {branch: {"p50_ms": round(_percentile([s * 1000 for s in values], 50), 2),
                        "p95_ms": round(_percentile([s * 1000 for s in values], 95), 2)}
               for branch, values in seconds.items()}
    return {**summary, "exact_over_graph_p50": round(summary[EXACT]["p50_ms"] / summary[GRAPH]["p50_ms"], 2),
            "exact_over_graph_p95": round(summary[EXACT]["p95_ms"] / summary[GRAPH]["p95_ms"], 2),
            "graph_recall_at_10": round(sum(recalls) / len(recalls), 4), "graph_min_recall_at_10": min(recalls),
            "tenants_probed": sum(plans.values()), "graph_branch_plans": plans}


def _tenant_only(**arguments):
    return tenant_faces_nearest(**{**arguments, "include_platform_index": False})


def _text(report: dict) -> str:
    faces = report["partition_faces"]
    return "\n".join([
        f"Database {report['database']}: tenants' partitions of {faces['min']:,} to {faces['max']:,} faces; "
        f"{report['queries']} queries, each run both ways; ef_search {report['ef_search']}; "
        f"{report['orders']} orders in force.",
        f"Load average {report['loadavg_start']} at the start, {report['loadavg_end']} at the end.",
        f"  exact scan: p50 {report[EXACT]['p50_ms']} ms, p95 {report[EXACT]['p95_ms']} ms",
        f"  graph:      p50 {report[GRAPH]['p50_ms']} ms, p95 {report[GRAPH]['p95_ms']} ms, recall@10 against the exact "
        f"answer {report['graph_recall_at_10']} (min {report['graph_min_recall_at_10']})",
        "    the planner's plan for the graph branch: " + "; ".join(
            f"{plan} ({count} partitions)" for plan, count in sorted(report["graph_branch_plans"].items())),
        f"  exact / graph: {report['exact_over_graph_p50']} at p50, {report['exact_over_graph_p95']} at p95",
    ]) + "\n"

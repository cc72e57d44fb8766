"""Benchmark: activation-to-invisible time and deletion throughput of a regional order.

Builds a synthetic gallery (default 1,000,000 faces, 100,000 of them in FR, spread over three
tenants and the platform index) in its own database, which is dropped at the end (--keep keeps
it), so real data is never touched. Prints the figures; --json prints them as JSON.

What "time to nothing visible" measures: from calling order_activate() to the commit of its
transaction. The proof that nothing is visible at that instant is taken right there, before the
`withheld` flags are set: every tenant's search runs with FR probes (real FR faces of the
gallery) and any FR face returned is counted as a leak. The flag update that follows, the
coverage count and the deletion are timed separately, and search latency is measured before
the order and with the order in force, so the cost of the order's conditions in the query shows.
"""

import json
import statistics
import time

import numpy as np
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from portal.audit.services import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance import orders
from portal.compliance.enforcement import order_enforce
from portal.compliance.orders import order_activate, order_coverage_record, order_create
from portal.gallery.face_index import face_index_create_sql, face_index_drop_sql
from portal.gallery.models import Face
from portal.runtime.database import database_drop, database_name_use, owner_connection
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, scope_connection, tenant_scope
from tenants.models import Tenant
from tenants.services import tenant_create

TENANT_SLUGS = ("bench-police", "bench-retail", "bench-other")


class Command(BaseCommand):
    help = "Measures order activation (time until nothing covered is visible) and deletion throughput."

    def add_arguments(self, parser):
        parser.add_argument("--faces", type=int, default=1_000_000)
        parser.add_argument("--covered-every", type=int, default=10, help="One face in N is in FR (default 10%%).")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--database", default="portal_bench", help="Name of the throw-away database.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark database afterwards.")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, faces, covered_every, batch_size, database, keep, as_json, **options):
        if database == connection.settings_dict["NAME"]:
            raise CommandError("The benchmark needs its own database, not the portal's.")
        self._log = (lambda message: None) if as_json else (lambda message: self.stdout.write(message))
        self._database_create(database)
        try:
            with database_name_use(database):
                results = self._run(faces=faces, covered_every=covered_every, batch_size=batch_size)
        finally:
            if not keep:
                self._database_drop(database)
        results["database_kept"] = keep
        if as_json:
            self.stdout.write(json.dumps(results, indent=2, sort_keys=True))
        else:
            for key, value in results.items():
                self.stdout.write(f"{key:>40}: {value}")

    # -- database ------------------------------------------------------------------------------
    def _database_create(self, name):
        with owner_connection() as owner, owner.cursor() as cursor:
            database_drop(cursor, name=name)
            cursor.execute(f"CREATE DATABASE {owner.ops.quote_name(name)}")
        self._log(f"created database {name}")

    def _database_drop(self, name):
        with owner_connection() as owner, owner.cursor() as cursor:
            database_drop(cursor, name=name)
        self._log(f"dropped database {name}")

    # -- the benchmark -------------------------------------------------------------------------
    def _run(self, *, faces, covered_every, batch_size):
        call_command("migrate", verbosity=0)
        tenants = [tenant_create(slug=slug, name=slug, kind=Tenant.Kind.OTHER, home_country="GB",
                                 may_search_platform_index=(n == 0)) for n, slug in enumerate(TENANT_SLUGS)]
        started = time.perf_counter()
        self._gallery_build(faces=faces, covered_every=covered_every, tenants=tenants)
        built = time.perf_counter() - started

        today = timezone.localdate()
        order = order_create(actor=Actor.system("benchmark"), kind=RegulatoryOrder.Kind.REGIONAL, authority="BENCH",
                             reference="BENCH-FR", received_on=today, effective_at=timezone.now(),
                             deadline=today, regions=["FR"])
        probes = self._fr_probes(count=20)
        leaked_before, latency_before = self._fr_visible(tenants=tenants, probes=probes)
        self._log(f"before the order: {leaked_before} FR faces returned by {len(tenants) * len(probes)} searches")

        # Activation commits, then calls order_withhold_flags(): the wrapper stamps the commit
        # and proves, with the flags still unset, that no search returns a FR face.
        moments = {}
        flags_set = orders.order_withhold_flags

        def flags_after_proof(*, order, actor):
            moments["committed"] = time.perf_counter()
            with dangerously_unscoped(reason="benchmark"):
                moments["withheld_at_commit"] = Face.objects.filter(withheld=True).count()
            moments["leaked"], moments["latency"] = self._fr_visible(tenants=tenants, probes=probes)
            moments["checked"] = time.perf_counter()
            result = flags_set(order=order, actor=actor)
            moments["flagged"] = time.perf_counter()
            return result

        orders.order_withhold_flags = flags_after_proof
        try:
            started = time.perf_counter()
            order = order_activate(order=order, actor=Actor.system("benchmark"), record_coverage=False)
        finally:
            orders.order_withhold_flags = flags_set
        leaked_after_flags, _ = self._fr_visible(tenants=tenants, probes=probes)
        started_count = time.perf_counter()
        order = order_coverage_record(order=order)
        counted = time.perf_counter()

        started_delete = time.perf_counter()
        order = order_enforce(order=order, batch_size=batch_size)
        deleted_seconds = time.perf_counter() - started_delete
        with dangerously_unscoped(reason="benchmark"), scope_connection().cursor() as cursor:
            cursor.execute("SELECT count(*) FROM gallery_face")
            left = cursor.fetchone()[0]
        return {
            "faces": faces, "covered_faces": order.covered.get("faces", 0), "tenants": len(tenants),
            "build_seconds": round(built, 1),
            "fr_faces_visible_before_order": leaked_before,
            "time_to_nothing_visible_seconds": round(moments["committed"] - started, 3),
            "faces_flagged_withheld_at_that_moment": moments["withheld_at_commit"],
            "visibility_check_searches": len(tenants) * len(probes),
            "covered_faces_visible_after_activation": moments["leaked"],
            "search_p50_ms_before_order": _percentile(latency_before, 50),
            "search_p95_ms_before_order": _percentile(latency_before, 95),
            "search_p50_ms_order_in_force": _percentile(moments["latency"], 50),
            "search_p95_ms_order_in_force": _percentile(moments["latency"], 95),
            "withheld_flags_seconds": round(moments["flagged"] - moments["checked"], 3),
            "covered_faces_visible_after_flags": leaked_after_flags,
            "coverage_count_seconds": round(counted - started_count, 3),
            "enforcement_seconds": round(deleted_seconds, 2),
            "deleted_faces": order.deleted.get("faces", 0), "deleted_images": order.deleted.get("images", 0),
            "deletion_faces_per_second": round(order.deleted.get("faces", 0) / deleted_seconds) if deleted_seconds else None,
            "batch_size": batch_size, "status": order.status,
            "verification_passed": bool(order.verification and order.verification["passed"]),
            "faces_left": left,
        }

    def _gallery_build(self, *, faces, covered_every, tenants):
        ids = [t.pk for t in tenants]
        self._log(f"building {faces:,} faces ...")
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute("SET portal.scope = 'all'")
            cursor.execute("SET maintenance_work_mem = '2GB'")
            cursor.execute("SET max_parallel_maintenance_workers = 2")
            cursor.execute(face_index_drop_sql())
            # One picture and one face per row; every tenth in FR, the rest elsewhere; a quarter
            # each in three tenants and the platform index.
            cursor.execute(
                """
                INSERT INTO gallery_image (tenant_id, file, thumbnail, sha256, width, height, format, source_url, source_domain,
                                           region, region_evidence, legal_basis, created_at, withheld)
                SELECT (ARRAY[%s, %s, %s, NULL]::bigint[])[g %% 4 + 1], '', '', md5(g::text) || md5('b' || g), 100, 100,
                       'JPEG', '', '', CASE WHEN g %% %s = 0 THEN 'FR' ELSE (ARRAY['DE','GB','US-IL','IT'])[g %% 4 + 1] END,
                       'declared', 'other', now(), false
                FROM generate_series(1, %s) g
                """, [*ids, covered_every, faces])
            self._log("  images inserted")
            cursor.execute(
                """
                INSERT INTO gallery_face (uuid, image_id, tenant_id, embedding, box_x, box_y, box_w, box_h, confidence,
                                          crop, region, source_domain, engine, withheld, created_at)
                SELECT gen_random_uuid(), i.id, i.tenant_id,
                       l2_normalize((SELECT array_agg(random() - 0.5) FROM generate_series(1, 128) WHERE i.id IS NOT NULL)::vector),
                       0, 0, 10, 10, 0.99, '', i.region, '', 'synthetic', false, now()
                FROM gallery_image i
                """)
            self._log("  faces inserted; building the HNSW index ...")
            cursor.execute(face_index_create_sql())  # the migration's
            cursor.execute("VACUUM ANALYZE gallery_face")
            cursor.execute("VACUUM ANALYZE gallery_image")
        self._log("  index built")

    def _fr_probes(self, *, count):
        with dangerously_unscoped(reason="benchmark"), scope_connection().cursor() as cursor:
            cursor.execute("SELECT embedding FROM gallery_face WHERE region = 'FR' ORDER BY random() LIMIT %s", [count])
            # pgvector's adapter (registered on every connection) reads a vector as a Vector.
            return [np.asarray(row[0].to_numpy(), dtype=np.float32) for row in cursor.fetchall()]

    def _fr_visible(self, *, tenants, probes) -> tuple[int, list[float]]:
        """(FR faces returned, each search's milliseconds) over every tenant's search with each probe."""
        leaked, latency = 0, []
        for tenant in tenants:
            tenant.refresh_from_db()
            with tenant_scope(tenant):
                for probe in probes:
                    started = time.perf_counter()
                    found = tenant_faces_nearest(tenant=tenant, embedding=probe, k=10,
                                                 include_platform_index=tenant.may_search_platform_index)
                    latency.append((time.perf_counter() - started) * 1000)
                    if found:
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT count(*) FROM gallery_face WHERE id = ANY(%s) AND region = 'FR'",
                                           [[n.face_id for n in found]])
                            leaked += cursor.fetchone()[0]
        return leaked, latency


def _percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return round(values[0], 1) if values else 0.0
    return round(statistics.quantiles(values, n=100, method="inclusive")[percent - 1], 1)

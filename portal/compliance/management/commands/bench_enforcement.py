"""Benchmark: activation-to-invisible time and deletion throughput of a regional order.

Builds a synthetic gallery (default 1,000,000 faces, 100,000 of them in FR, spread over three
tenants and the platform index) in its own database, which is dropped at the end (--keep keeps
it), so real data is never touched. Prints the figures; --json prints them as JSON.
"""

import json
import time

import numpy as np
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from portal.compliance.audit import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance.services import order_activate, order_coverage_record, order_create, order_enforce
from portal.runtime.database import owner_connection
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, tenant_scope
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
        original_name = connection.settings_dict["NAME"]
        self._database_create(database)
        connection.close()
        connection.settings_dict["NAME"] = database
        try:
            results = self._run(faces=faces, covered_every=covered_every, batch_size=batch_size)
        finally:
            connection.close()
            connection.settings_dict["NAME"] = original_name
            if not keep:
                self._database_drop(database)
        results["database_kept"] = keep
        if as_json:
            self.stdout.write(json.dumps(results, indent=2, sort_keys=True))
        else:
            for key, value in results.items():
                self.stdout.write(f"{key:>32}: {value}")

    # -- database ------------------------------------------------------------------------------
    def _database_create(self, name):
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {owner.ops.quote_name(name)} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {owner.ops.quote_name(name)}")
        self._log(f"created database {name}")

    def _database_drop(self, name):
        with owner_connection() as owner, owner.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {owner.ops.quote_name(name)} WITH (FORCE)")
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

        started = time.perf_counter()
        order = order_activate(order=order, actor=Actor.system("benchmark"), record_coverage=False)
        committed = time.perf_counter()
        # From the commit on, nothing FR is visible: prove it with every tenant's search.
        leaked = self._fr_visible(tenants=tenants, probes=probes)
        checked = time.perf_counter()
        order = order_coverage_record(order=order)
        counted = time.perf_counter()

        started_delete = time.perf_counter()
        order = order_enforce(order=order, batch_size=batch_size)
        deleted_seconds = time.perf_counter() - started_delete
        with dangerously_unscoped(reason="benchmark"), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM gallery_face")
            left = cursor.fetchone()[0]
        return {
            "faces": faces, "covered_faces": order.covered.get("faces", 0), "tenants": len(tenants),
            "build_seconds": round(built, 1),
            "activation_commit_seconds": round(committed - started, 3),
            "time_to_nothing_visible_seconds": round(committed - started, 3),
            "visibility_check_seconds": round(checked - committed, 3),
            "visibility_check_searches": len(tenants) * len(probes),
            "covered_faces_visible_after_activation": leaked,
            "coverage_count_seconds": round(counted - checked, 3),
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
            cursor.execute("DROP INDEX face_embedding_hnsw")
            # One picture and one face per row; every tenth in FR, the rest elsewhere; a quarter
            # each in three tenants and the platform index.
            cursor.execute(
                """
                INSERT INTO gallery_image (tenant_id, file, sha256, width, height, format, source_url, source_domain,
                                           region, region_evidence, legal_basis, created_at, withheld)
                SELECT (ARRAY[%s, %s, %s, NULL]::bigint[])[g %% 4 + 1], '', md5(g::text) || md5('b' || g), 100, 100,
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
            cursor.execute("CREATE INDEX face_embedding_hnsw ON gallery_face USING hnsw (embedding vector_cosine_ops)"
                           " WITH (m = 16, ef_construction = 64)")
            cursor.execute("VACUUM ANALYZE gallery_face")
            cursor.execute("VACUUM ANALYZE gallery_image")
        self._log("  index built")

    def _fr_probes(self, *, count):
        with dangerously_unscoped(reason="benchmark"), connection.cursor() as cursor:
            cursor.execute("SELECT embedding FROM gallery_face WHERE region = 'FR' ORDER BY random() LIMIT %s", [count])
            return [np.array(json.loads(row[0]) if isinstance(row[0], str) else row[0], dtype=np.float32)
                    for row in cursor.fetchall()]

    def _fr_visible(self, *, tenants, probes):
        leaked = 0
        for tenant in tenants:
            tenant.refresh_from_db()
            with tenant_scope(tenant):
                for probe in probes:
                    found = tenant_faces_nearest(tenant=tenant, embedding=probe, k=10,
                                                 include_platform_index=tenant.may_search_platform_index)
                    if found:
                        with connection.cursor() as cursor:
                            cursor.execute("SELECT count(*) FROM gallery_face WHERE id = ANY(%s) AND region = 'FR'",
                                           [[n.face_id for n in found]])
                            leaked += cursor.fetchone()[0]
        return leaked

"""tenant_faces_nearest's statement: pipelined with its settings, the probe bound as binary, and
still under row-level security (portal/search/selectors.py, portal/search/binding.py)."""

import pytest
from django.db import connection
from psycopg import pq

from django.test import override_settings

from portal.search.binding import server_bound_cursor
from portal.search.selectors import tenant_faces_nearest
from tenants.context import tenant_scope
from tests.builders import Gallery, picture_add

pytestmark = pytest.mark.django_db


def _galleries(two_tenants):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    gallery = Gallery(tenants=[a, b])
    for tenant in (a, b):
        picture_add(gallery, tenant=tenant, region="DE", faces=3)
    return gallery, a, b


def test_a_tenant_finds_only_its_own_faces_even_with_the_others_probe(two_tenants):
    gallery, a, b = _galleries(two_tenants)
    for asker, other in ((a, b), (b, a)):
        for face_id in gallery.ids(tenant_id=other.pk):
            with tenant_scope(asker):
                found = {n.face_id for n in tenant_faces_nearest(tenant=asker, embedding=gallery.faces[face_id][2],
                                                                 k=10, include_platform_index=False)}
            assert found == gallery.ids(tenant_id=asker.pk)


def test_outside_a_tenant_scope_the_statement_sees_no_face(two_tenants):
    gallery, a, _ = _galleries(two_tenants)
    probe = gallery.faces[next(iter(gallery.ids(tenant_id=a.pk)))][2]
    # No claim on the connection: row-level security hides every row, whatever the SQL asks.
    assert tenant_faces_nearest(tenant=a, embedding=probe, k=10, include_platform_index=False) == []


def test_the_probe_travels_as_a_binary_parameter_with_the_settings_in_the_same_pipeline(two_tenants):
    gallery, a, _ = _galleries(two_tenants)
    probe = gallery.faces[next(iter(gallery.ids(tenant_id=a.pk)))][2]
    sent = []

    def capture(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        raw = context["cursor"].cursor
        sent.append((sql, raw._query.formats, raw.connection.pgconn.pipeline_status))
        return result

    with tenant_scope(a), connection.execute_wrapper(capture):
        found = tenant_faces_nearest(tenant=a, embedding=probe, k=10, include_platform_index=False)
    assert len(found) == 3
    (settings_sql, _, settings_pipeline), (search_sql, formats, search_pipeline) = sent
    assert "hnsw.ef_search" in settings_sql and "gallery_face" in search_sql
    assert settings_pipeline == search_pipeline == pq.PipelineStatus.ON
    assert formats.count(pq.Format.BINARY) >= 2  # the probe, twice


def _explained(tenant, probe) -> str:
    """EXPLAIN ANALYZE of the statement tenant_faces_nearest sends, in its transaction."""
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with tenant_scope(tenant):
        with connection.execute_wrapper(capture):
            found = tenant_faces_nearest(tenant=tenant, embedding=probe, k=10, include_platform_index=False)
        settings_sql, settings_params = statements[0]
        sql, params = statements[-1]
        with server_bound_cursor(connection) as cursor:
            cursor.execute(settings_sql, settings_params)
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
    return found, plan


def _branches_run(plan: str) -> tuple[bool, bool]:
    """(the exact branch ran, the graph branch ran), from the analysed plan: the UNION ALL's first
    branch is the exact scan, its second (a subquery scan, as its output is not its ordering) the
    graph's, which on a partition of a few faces the planner also serves with a sort; bench_search
    shows the HNSW scan at size."""
    exact, graph = plan.split('Subquery Scan on "*SELECT* 2"')
    scans = [[line for line in branch.splitlines() if " on gallery_face_tenant_" in line] for branch in (exact, graph)]
    assert all(len(lines) == 1 for lines in scans), plan
    return tuple("never executed" not in lines[0] for lines in scans)


def test_a_small_partition_is_scanned_exactly_and_a_large_one_walks_its_graph(two_tenants):
    """A tenant-only search reads its own partition alone; below SEARCH_EXACT_SCAN_BELOW faces it
    compares the probe with each (the graph's branch never runs), above it walks the graph."""
    gallery, a, b = _galleries(two_tenants)
    probe = gallery.faces[next(iter(gallery.ids(tenant_id=a.pk)))][2]
    found, plan = _explained(a, probe)
    assert _branches_run(plan) == (True, False), plan
    assert f"gallery_face_tenant_{a.pk} " in plan, plan
    assert f"gallery_face_tenant_{b.pk} " not in plan and "gallery_face_platform" not in plan, plan
    # A threshold no partition is below (not even one never analysed, estimated at -1 rows).
    with override_settings(SEARCH_EXACT_SCAN_BELOW=-1):
        graph_found, plan = _explained(a, probe)
    assert _branches_run(plan) == (False, True), plan
    assert [n.face_id for n in found] == [n.face_id for n in graph_found]
    assert {n.face_id for n in found} == gallery.ids(tenant_id=a.pk)

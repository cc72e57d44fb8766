"""tenant_faces_nearest's statement: pipelined with its settings, the probe bound as binary, and
still under row-level security (portal/search/selectors.py, portal/search/binding.py)."""

import pytest
from django.db import connection
from psycopg import pq

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

"""Rebuilding the HNSW index with other parameters while searches go on
(portal/gallery/face_index.py, `face_index_rebuild`; migration gallery.0011)."""

import numpy as np
import psycopg
import pytest
from django.db import connection

from portal.gallery.face_index import (FACE_INDEX_NAME, HNSW_EF_CONSTRUCTION, HNSW_M, face_index_create_sql,
                                       face_index_rebuild)
from portal.runtime.database import owner_psycopg_connect
from tests.builders import Gallery, nearest_through_graph, picture_add
from tests.factories import TenantFactory

# CREATE INDEX CONCURRENTLY waits for every transaction that could use the table: these tests
# commit their rows rather than hold them in the usual test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _owner():
    return owner_psycopg_connect(dbname=connection.settings_dict["NAME"])


def _hnsw_indexes() -> dict:
    """{table: [(index, reloptions, valid, parent index or None)]} of every HNSW index of the face
    table and its partitions."""
    with _owner() as owner:
        rows = owner.execute("""
            SELECT x.indrelid::regclass::text, c.relname, c.reloptions, x.indisvalid,
                   (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid)
            FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am a ON a.oid = c.relam
            WHERE a.amname = 'hnsw' AND (x.indrelid = 'gallery_face'::regclass OR x.indrelid IN (
                SELECT inhrelid FROM pg_inherits WHERE inhparent = 'gallery_face'::regclass))
            ORDER BY 1, 2""").fetchall()
    found = {}
    for table, name, options, valid, parent in rows:
        found.setdefault(table, []).append((name, sorted(options), valid, parent))
    return found


def _assert_one_graph_each(*, m: int, ef_construction: int) -> dict:
    indexes = _hnsw_indexes()
    options = sorted([f"ef_construction={ef_construction}", f"m={m}"])
    assert indexes.pop("gallery_face") == [(FACE_INDEX_NAME, options, True, None)]
    with _owner() as owner:
        partitions = {name for (name,) in owner.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'gallery_face'::regclass")}
    assert set(indexes) == partitions
    for table, graphs in indexes.items():
        [(name, graph_options, valid, parent)] = graphs
        assert (graph_options, valid, parent) == (options, True, FACE_INDEX_NAME), table
    return {table: graphs[0][0] for table, graphs in indexes.items()}


def _searched_through_graph(tenant, probe, settings) -> tuple[list, str]:
    """The tenant's nearest faces through its partition's graph, and the plan that found them."""
    settings.SEARCH_EXACT_SCAN_BELOW = -1  # the graph branch, not the small partition's exact scan
    return nearest_through_graph(tenant=tenant, embedding=probe, k=3)


def test_the_migrations_left_one_graph_per_partition_with_the_current_parameters(two_tenants):
    _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    assert (HNSW_M, HNSW_EF_CONSTRUCTION) == (32, 256)


def test_a_rebuild_replaces_every_partition_graph_and_searches_use_the_new_one(two_tenants, settings):
    a = two_tenants.a.tenant
    rng = np.random.default_rng(3)
    embeddings = [vector / np.linalg.norm(vector) for vector in rng.normal(size=(3, 128)).astype(np.float32)]
    gallery = Gallery(tenants=[a])
    picture_add(gallery, tenant=a, region="DE", faces=3, embeddings=embeddings)
    face_ids = sorted(gallery.ids(tenant_id=a.pk))

    with _owner() as owner:
        face_index_rebuild(owner, m=16, ef_construction=128)
    graphs = _assert_one_graph_each(m=16, ef_construction=128)
    found, plan = _searched_through_graph(a, embeddings[1], settings)
    assert found[0].face_id == face_ids[1] and abs(found[0].similarity - 1.0) < 1e-5
    assert f"Index Scan using {graphs[f'gallery_face_tenant_{a.pk}']}" in plan

    # A tenant created afterwards gets its graph from the parent's declaration, with its parameters.
    c = TenantFactory(slug="tenant-after-rebuild")
    graphs_after = _assert_one_graph_each(m=16, ef_construction=128)
    assert f"gallery_face_tenant_{c.pk}" in graphs_after

    # Back to the migration's parameters (so the database is left as the other tests expect);
    # each partition's graph takes the other of its two names.
    with _owner() as owner:
        face_index_rebuild(owner, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    rebuilt = _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    assert all(rebuilt[table] != name for table, name in graphs.items())
    found, plan = _searched_through_graph(a, embeddings[2], settings)
    assert found[0].face_id == face_ids[2]
    assert f"Index Scan using {rebuilt[f'gallery_face_tenant_{a.pk}']}" in plan


def test_a_tenant_created_during_a_rebuild_gets_the_new_graph_at_once(two_tenants, settings):
    """A partition created while the graphs are being rebuilt (after the first partition's graph,
    before the others') is not in the rebuild's list: it gets its graph from the new index's
    declaration on the parent, with the new parameters, and searches walk it."""
    created = []

    class TenantCreatedAfterFirstGraph(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            result = super().execute(query, params, **kwargs)
            if "CONCURRENTLY" in str(query) and not created:
                created.append(TenantFactory(slug="tenant-during-rebuild"))
            return result

    with _owner() as owner:
        owner.cursor_factory = TenantCreatedAfterFirstGraph
        face_index_rebuild(owner, m=16, ef_construction=128)
    [c] = created
    graphs = _assert_one_graph_each(m=16, ef_construction=128)
    partition = f"gallery_face_tenant_{c.pk}"
    assert partition in graphs and not graphs[partition].endswith(("_hnsw_a", "_hnsw_b")), graphs  # not built by the loop

    embeddings = [vector / np.linalg.norm(vector)
                  for vector in np.random.default_rng(5).normal(size=(2, 128)).astype(np.float32)]
    gallery = Gallery(tenants=[c])
    picture_add(gallery, tenant=c, region="DE", faces=2, embeddings=embeddings)
    found, plan = _searched_through_graph(c, embeddings[1], settings)
    assert found[0].face_id == sorted(gallery.ids(tenant_id=c.pk))[1]
    assert f"Index Scan using {graphs[partition]}" in plan

    with _owner() as owner:
        face_index_rebuild(owner, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)


def test_a_rebuild_clears_what_an_interrupted_one_left(two_tenants):
    a = two_tenants.a.tenant
    partition = f"gallery_face_tenant_{a.pk}"
    in_use = _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)[partition]
    leftover = f"{partition}_hnsw_b" if in_use.endswith("_hnsw_a") else f"{partition}_hnsw_a"
    with _owner() as owner:
        # An interrupted run: its declaration on the parent, and a graph built but not attached.
        owner.execute(face_index_create_sql(name=f"{FACE_INDEX_NAME}_next", m=16, ef_construction=64, only=True))
        owner.execute(face_index_create_sql(table=partition, name=leftover, m=16, ef_construction=64))
        face_index_rebuild(owner, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    graphs = _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    assert graphs[partition] == leftover  # the free name, now holding the new graph


def test_a_rebuild_that_fails_leaves_the_index_in_use_as_it_was(two_tenants):
    before = _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    with _owner() as owner, pytest.raises(Exception, match="ef_construction must be greater than or equal to 2"):
        # pgvector refuses the graph when the first partition's is built: m 32 needs at least 64.
        face_index_rebuild(owner, m=32, ef_construction=40)
    assert _assert_one_graph_each(m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION) == before

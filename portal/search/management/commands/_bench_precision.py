"""bench_search's side-by-side of the full-precision index (before gallery.0009) and the
half-precision one: the former index and its statement, the storage each takes, the load average.

The full-precision statement is tenant_faces_nearest's as it was before the half-precision index:
the same exclusions (cached, checked current in the statement), the same pipeline and binary probe,
ordered by `embedding <=> probe` on the full-precision graph, with no re-ranking.
"""

from __future__ import annotations

import os

import numpy as np
from django.conf import settings

from portal.gallery.face_index import FACE_INDEX_NAME, face_index_create_sql
from portal.gallery.gates import search_exclusions
from portal.search.binding import server_bound_cursor
from portal.search.selectors import Neighbour, tenant_faces_nearest
from tenants.context import scope_connection
from tenants.models import Tenant

FULL_PRECISION_INDEX = "face_embedding_hnsw"
HALF, FULL = "half", "full"

_FULL_PRECISION_SQL = """
    WITH current AS MATERIALIZED (SELECT ({current}) AS ok),
    nearest AS MATERIALIZED (
        SELECT f.id, f.embedding <=> %s::vector AS distance
        FROM gallery_face f
        WHERE (SELECT ok FROM current) AND NOT f.withheld AND {gallery} AND {excluded}
        ORDER BY f.embedding <=> %s::vector
        LIMIT %s
    )
    SELECT c.ok, n.id, n.distance FROM current c LEFT JOIN nearest n ON true ORDER BY n.distance, n.id
"""


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def index_create_sql(*, precision: str, m: int, ef_construction: int) -> str:
    if precision == HALF:
        return face_index_create_sql(m=m, ef_construction=ef_construction)
    return (f"CREATE INDEX {FULL_PRECISION_INDEX} ON gallery_face USING hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})")


def index_name(precision: str) -> str:
    return FACE_INDEX_NAME if precision == HALF else FULL_PRECISION_INDEX


def indexes_drop(owner) -> None:
    with owner.cursor() as cursor:
        for precision in (HALF, FULL):
            cursor.execute(f"DROP INDEX IF EXISTS {index_name(precision)}")


def index_prewarm(owner, *, precision: str) -> int | None:
    """Reads the index into shared buffers (pg_prewarm), as the server does after a start: each
    partition's, the parent's being partitioned; the blocks read, or None when the database lacks
    the extension."""
    with owner.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT coalesce(sum(pg_prewarm(relid)), 0) FROM pg_partition_tree(%s::regclass) WHERE isleaf",
                       [index_name(precision)])
        return int(cursor.fetchone()[0])


def storage(owner, *, precision: str, faces: int) -> dict:
    """Bytes of the face table: the heap (with its TOAST, free-space and visibility maps), the
    vector index, the other (btree) indexes; in all and per face."""
    with owner.cursor() as cursor:
        # Summed over the partitions: the parent table and its indexes hold no storage of their own.
        cursor.execute("SELECT (SELECT sum(pg_table_size(relid)) FROM pg_partition_tree('gallery_face') WHERE isleaf),"
                       " (SELECT sum(pg_relation_size(relid)) FROM pg_partition_tree(%s::regclass) WHERE isleaf),"
                       " (SELECT sum(pg_indexes_size(relid)) FROM pg_partition_tree('gallery_face') WHERE isleaf),"
                       " current_setting('shared_buffers')", [index_name(precision)])
        heap, vector_index, indexes, shared_buffers = (int(v) if i < 3 else v for i, v in enumerate(cursor.fetchone()))
    other = indexes - vector_index
    return {"heap_bytes": heap, "vector_index_bytes": vector_index, "other_indexes_bytes": other,
            "heap_per_face": round(heap / faces), "vector_index_per_face": round(vector_index / faces),
            "other_indexes_per_face": round(other / faces),
            "heap_and_vector_index_per_face": round((heap + vector_index) / faces),
            "shared_buffers": shared_buffers}


def nearest_function(precision: str):
    return tenant_faces_nearest if precision == HALF else full_precision_nearest


def full_precision_nearest(*, tenant: Tenant, embedding: np.ndarray, k: int,
                           include_platform_index: bool) -> list[Neighbour]:
    exclusions = search_exclusions(tenant=tenant, include_platform_index=include_platform_index, alias="f")
    gallery = "(f.tenant_id = %s OR f.tenant_id IS NULL)" if include_platform_index else "f.tenant_id = %s"
    vector = np.asarray(embedding, dtype=np.float32)
    sql = _FULL_PRECISION_SQL.format(current=exclusions.current_sql, gallery=gallery, excluded=exclusions.sql)
    params = [*exclusions.current_params, vector, tenant.pk, *exclusions.params, vector, k]
    connection = scope_connection()
    with server_bound_cursor(connection) as cursor, connection.connection.pipeline():
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                       " set_config('hnsw.ef_search', %s, true)", [str(max(settings.SEARCH_HNSW_EF, k))])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows or not rows[0][0]:
        raise RuntimeError("The orders in force changed during the benchmark's full-precision query.")
    return [Neighbour(face_id=face_id, similarity=1.0 - float(distance)) for _, face_id, distance in rows
            if face_id is not None]

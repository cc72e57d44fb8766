"""The face table's vector index: its one definition, for the migration, the benchmarks and maintenance.

The HNSW graph holds the embeddings at half precision (`halfvec`, 2 bytes a dimension instead of
4), as an expression index over the full-precision column: the heap keeps `embedding` as it was,
so the search re-ranks the graph's candidates at full precision (portal/search/selectors.py).
At 1M faces the graph takes about half the space of the full-precision one with the same recall
(README, "Ten million faces").

Every statement that creates the index comes from `face_index_create_sql`. It is created on the
partitioned parent (portal/gallery/partitions.py): PostgreSQL builds one graph per partition, and
a tenant's partition created later gets its own at once.
"""

from __future__ import annotations

from portal.gallery.models import EMBEDDING_DIMENSIONS

FACE_INDEX_NAME = "face_embedding_half_hnsw"
# ef_construction 128, not 64: at 1M clustered faces the sparser graph left recall@10 at 0.95 with
# whole identities missed (bench_search; README "Face engine, search and benchmarks").
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
# The indexed expression; a query uses the index only when it orders by this very expression.
HALF_EMBEDDING_SQL = f"embedding::halfvec({EMBEDDING_DIMENSIONS})"
HALF_PROBE_SQL = f"%s::halfvec({EMBEDDING_DIMENSIONS})"


def face_index_create_sql(*, table: str = "gallery_face", name: str = FACE_INDEX_NAME, m: int = HNSW_M,
                          ef_construction: int = HNSW_EF_CONSTRUCTION, concurrently: bool = False) -> str:
    """CREATE INDEX for the half-precision HNSW graph of `table`'s embeddings (cosine distance)."""
    return (f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}{name} ON {table} USING hnsw "
            f"(({HALF_EMBEDDING_SQL}) halfvec_cosine_ops) WITH (m = {int(m)}, ef_construction = {int(ef_construction)})")


def face_index_drop_sql(*, name: str = FACE_INDEX_NAME) -> str:
    return f"DROP INDEX IF EXISTS {name}"

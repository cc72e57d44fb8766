"""The face table's vector index: its one definition, for the migration, the benchmarks and maintenance.

The HNSW graph holds the embeddings at half precision (`halfvec`, 2 bytes a dimension instead of
4), as an expression index over the full-precision column: the heap keeps `embedding` as it was,
so the search re-ranks the graph's candidates at full precision (portal/search/selectors.py).
At 1M faces the graph takes about half the space of the full-precision one with the same recall
(README, "Ten million faces").

Every statement that creates the index comes from `face_index_create_sql`. It is created on the
partitioned parent (portal/gallery/partitions.py): PostgreSQL builds one graph per partition, and
a tenant's partition created later gets its own at once. `face_index_rebuild` replaces it with
other build parameters without stopping searches (migration gallery.0011).
"""

from __future__ import annotations

from portal.gallery.models import EMBEDDING_DIMENSIONS

FACE_INDEX_NAME = "face_embedding_half_hnsw"
# m 32 and ef_construction 256 since gallery.0011 (m 16 / 128 before). At 1M faces of 100,000
# synthetic people (ten pictures each), m 16 found 0.91 of a tenant's exact top 10 and 0.78 with
# the platform index, missing people's own pictures; m 32 / 256 found 0.99 and 0.95, for about
# 200 more bytes a face and four to five times the build, which is a few milliseconds per face
# added, against the quarter second its detection takes (README, "A denser graph").
# ef_construction 128, not 64, came first: at 1M clustered faces 64 left recall@10 at 0.95.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 256
# The indexed expression; a query uses the index only when it orders by this very expression.
HALF_EMBEDDING_SQL = f"embedding::halfvec({EMBEDDING_DIMENSIONS})"
HALF_PROBE_SQL = f"%s::halfvec({EMBEDDING_DIMENSIONS})"


def face_index_create_sql(*, table: str = "gallery_face", name: str = FACE_INDEX_NAME, m: int = HNSW_M,
                          ef_construction: int = HNSW_EF_CONSTRUCTION, concurrently: bool = False,
                          only: bool = False) -> str:
    """CREATE INDEX for the half-precision HNSW graph of `table`'s embeddings (cosine distance);
    `only` declares it on a partitioned table without building it on the partitions."""
    return (f"CREATE INDEX {'CONCURRENTLY ' if concurrently else ''}{name} ON {'ONLY ' if only else ''}{table} USING hnsw "
            f"(({HALF_EMBEDDING_SQL}) halfvec_cosine_ops) WITH (m = {int(m)}, ef_construction = {int(ef_construction)})")


def face_index_drop_sql(*, name: str = FACE_INDEX_NAME) -> str:
    return f"DROP INDEX IF EXISTS {name}"


def face_index_rebuild(connection, *, m: int, ef_construction: int) -> None:
    """Replaces the HNSW index by one built with `m` and `ef_construction`, searches going on.

    `connection` is the owner's, in autocommit (CREATE INDEX CONCURRENTLY runs outside a
    transaction). The new index is declared on the parent alone (ON ONLY, invalid until every
    partition has its graph), then each partition's graph is built concurrently, with the old one
    serving searches meanwhile, and attached; a partition created meanwhile gets its graph from
    the parent's declaration at once. The old index goes last, and the new one takes its name.
    On a table of 1M faces the builds take as long as the benchmark's (README)."""
    staging = f"{FACE_INDEX_NAME}_next"
    with connection.cursor() as cursor:
        cursor.execute(face_index_drop_sql(name=staging))
        cursor.execute(face_index_create_sql(name=staging, m=m, ef_construction=ef_construction, only=True))
        child = None
        try:
            cursor.execute("""
                SELECT p.inhrelid::regclass::text FROM pg_inherits p
                WHERE p.inhparent = 'gallery_face'::regclass AND NOT EXISTS (
                    SELECT 1 FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
                    WHERE i.inhparent = %s::regclass AND x.indrelid = p.inhrelid)
                ORDER BY 1""", [staging])
            for (partition,) in cursor.fetchall():
                child = _child_name_free(cursor, partition=partition)
                cursor.execute(face_index_create_sql(table=partition, name=child, m=m,
                                                     ef_construction=ef_construction, concurrently=True))
                cursor.execute(f"ALTER INDEX {staging} ATTACH PARTITION {child}")
        except Exception:
            # The index in use stays as it was; the new one goes, with the graph being built.
            cursor.execute(face_index_drop_sql(name=staging))
            if child is not None:
                cursor.execute(face_index_drop_sql(name=child))
            raise
        cursor.execute(face_index_drop_sql())
        cursor.execute(f"ALTER INDEX {staging} RENAME TO {FACE_INDEX_NAME}")


def _child_name_free(cursor, *, partition: str) -> str:
    """A name for a partition's new graph: of two, the one not in use by the index being replaced
    (an unattached index of that name, left by an interrupted rebuild, is dropped)."""
    for name in (f"{partition}_hnsw_a", f"{partition}_hnsw_b"):
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s))", [name])
        if not cursor.fetchone()[0]:
            cursor.execute(face_index_drop_sql(name=name))
            return name
    raise RuntimeError(f"Both graph names of {partition} are attached to an index.")

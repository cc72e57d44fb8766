"""The half-precision HNSW index and the re-ranking at full precision (portal/gallery/face_index.py,
portal/search/selectors.py)."""

import numpy as np
import pytest
from django.db import connection

from portal.gallery.face_index import FACE_INDEX_NAME, HALF_EMBEDDING_SQL, HALF_PROBE_SQL
from portal.search.selectors import tenant_faces_nearest
from tenants.context import tenant_scope
from tests.builders import Gallery, nearest_through_graph, picture_add

pytestmark = pytest.mark.django_db


def _cosine_distance(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    return 1.0 - float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def _inverted_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A probe and two faces: `closer` is nearer the probe at full precision, but at half
    precision (float16, how the index stores them) `farther` is. Off the probe's axis, `closer`
    has (g + 0.51 s, g) and `farther` (g + 0.49 s, g + 0.49 s), s the float16 spacing at g:
    the first rounds up to (g + s, g), the second down to (g, g)."""
    g = float(np.float16(0.3))
    s = float(np.spacing(np.float16(g)))
    probe, closer, farther = (np.zeros(128, dtype=np.float32) for _ in range(3))
    probe[0] = closer[0] = farther[0] = 1.0
    closer[1:3] = (g + 0.51 * s, g)
    farther[1:3] = (g + 0.49 * s, g + 0.49 * s)
    half = [v.astype(np.float16).astype(np.float32) for v in (probe, closer, farther)]
    assert _cosine_distance(probe, closer) < _cosine_distance(probe, farther)
    assert _cosine_distance(half[0], half[1]) > _cosine_distance(half[0], half[2])
    return probe, closer, farther


def _pair_gallery(two_tenants):
    a = two_tenants.a.tenant
    probe, closer, farther = _inverted_pair()
    gallery = Gallery(tenants=[a])
    # The farther face first, so that the heap's order favours it too.
    picture_add(gallery, tenant=a, region="DE", faces=2, embeddings=[farther, closer])
    farther_id, closer_id = sorted(gallery.ids(tenant_id=a.pk))
    return a, probe, closer_id, farther_id


def test_the_candidates_are_re_ranked_at_full_precision(two_tenants, settings):
    settings.SEARCH_EXACT_SCAN_BELOW = -1  # the graph branch, not the small partition's exact scan
    a, probe, closer_id, farther_id = _pair_gallery(two_tenants)
    with tenant_scope(a):
        (best,) = tenant_faces_nearest(tenant=a, embedding=probe, k=1, include_platform_index=False)
        # What the half-precision order alone would answer: the other face.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM gallery_face f ORDER BY (f.{HALF_EMBEDDING_SQL}) <=> {HALF_PROBE_SQL}, id "
                           f"LIMIT 1", [probe.tolist()])
            (half_first,) = cursor.fetchone()
    assert half_first == farther_id
    assert best.face_id == closer_id


def test_the_similarity_returned_is_the_full_precision_one(two_tenants, settings):
    # The graph branch, not the exact scan a partition this small gets (portal/search/selectors.py).
    settings.SEARCH_EXACT_SCAN_BELOW = -1
    a, probe, closer_id, farther_id = _pair_gallery(two_tenants)
    _, closer, farther = _inverted_pair()
    with tenant_scope(a):
        found = tenant_faces_nearest(tenant=a, embedding=probe, k=2, include_platform_index=False)
    assert [n.face_id for n in found] == [closer_id, farther_id]
    for neighbour, face in zip(found, (closer, farther)):
        full = 1.0 - _cosine_distance(probe, face)
        half = 1.0 - _cosine_distance(probe.astype(np.float16), face.astype(np.float16))
        assert abs(neighbour.similarity - full) < 1e-6 < abs(half - full)


def test_the_statement_walks_the_half_precision_graph(two_tenants, settings):
    settings.SEARCH_EXACT_SCAN_BELOW = -1  # the graph branch, not the small partition's exact scan
    gallery = Gallery(tenants=[two_tenants.a.tenant])
    a = two_tenants.a.tenant
    picture_add(gallery, tenant=a, region="DE", faces=30)
    probe_id = min(gallery.ids(tenant_id=a.pk))
    # Thirty rows: the planner would sort them exactly; the helper makes it take the index.
    found, plan = nearest_through_graph(tenant=a, embedding=gallery.faces[probe_id][2], k=5)
    with connection.cursor() as cursor:
        # The partition's own copy of the parent's index (partitioned indexes get a name each).
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
                       [f"gallery_face_tenant_{a.pk}", "%halfvec_cosine_ops%"])
        [(partition_index,)] = cursor.fetchall()
    assert f"Index Scan using {partition_index}" in plan
    assert found[0].face_id == probe_id and abs(found[0].similarity - 1.0) < 1e-6
    assert len(found) == 5


def test_the_migration_built_the_half_precision_index_only():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'gallery_face' "
                       "AND indexdef LIKE '%%USING hnsw%%'")
        indexes = dict(cursor.fetchall())
    assert list(indexes) == [FACE_INDEX_NAME]
    definition = indexes[FACE_INDEX_NAME]
    assert "halfvec(128)" in definition and "halfvec_cosine_ops" in definition
    assert "m='32'" in definition and "ef_construction='256'" in definition  # gallery.0011

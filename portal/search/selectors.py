"""Reading searches, and the similarity query itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.gallery.face_index import HALF_EMBEDDING_SQL, HALF_PROBE_SQL
from portal.gallery.gates import SearchExclusions, search_exclusions
from portal.gallery.models import Face
from portal.search.models import Authorisation, Band, Search, SearchMatch
from tenants.models import Tenant
from portal.search.binding import server_bound_cursor
from portal.search.replica import gallery_condition, replica_nearest
from tenants.context import scope_connection


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    similarity: float


# One statement: `current` is true while the cached search exclusions are still those in force
# (portal/gallery/gates.py); it is tested once, before the scan, in the statement's own snapshot,
# so a stale cache makes the statement return one row (false, NULL, NULL) and no face. The HNSW
# graph holds the embeddings at half precision (portal/gallery/face_index.py): `candidates` walks
# it by the half-precision distance, its iterative scan going on until the filters leave enough
# rows (pgvector 0.8), and only those candidates are measured again at full precision from the
# heap and re-ranked, which also restores exact order after the relaxed scan.
_NEAREST_SQL = """
    WITH current AS MATERIALIZED (SELECT ({current}) AS ok),
    candidates AS MATERIALIZED ({candidates}),
    nearest AS (SELECT id, distance FROM candidates ORDER BY distance, id LIMIT %s)
    SELECT c.ok, n.id, n.distance FROM current c LEFT JOIN nearest n ON true ORDER BY n.distance, n.id
"""
_SCAN_SQL = """
        SELECT f.id, f.embedding <=> %s::vector AS distance
        FROM gallery_face f
        WHERE (SELECT ok FROM current) AND {chosen} NOT f.withheld AND {gallery} AND {excluded}
        ORDER BY {order}
        LIMIT %s
"""
# A tenant-only search reads the tenant's partition alone (portal/gallery/partitions.py). Below
# SEARCH_EXACT_SCAN_BELOW faces (the partition's row estimate, which ANALYZE and autovacuum keep;
# -1, never analysed, counts as small) it compares the probe with every face: exact, and faster
# than what the planner makes of the other branch at that size, a scan sorted by the
# half-precision distance (README, "Exact up to 12,000 faces"). From there on the second branch
# orders by the half-precision distance, and the planner walks the partition's HNSW graph. Both
# branches are in the statement, each gated by an InitPlan, so the branch not chosen never runs
# and the choice costs no round trip. The exact branch orders by its output column, the
# full-precision distance, which no index holds (the graph is built on the half-precision
# expression), so it is computed once a face and never walked. The graph branch orders by the
# half-precision distance the index holds and hands over k x SEARCH_RERANK_FACTOR candidates.
_EXACT_ORDER = "distance"
_GRAPH_ORDER = f"(f.{HALF_EMBEDDING_SQL}) <=> {HALF_PROBE_SQL}"
_EXACT_CHOICE_SQL = ("(SELECT coalesce((SELECT c.reltuples < %s FROM pg_class c"
                     " WHERE c.oid = to_regclass(portal_face_partition_name(%s::bigint))), true))")
_HNSW_SETTINGS_SQL = ("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                      " set_config('hnsw.ef_search', %s, true)")
# Reads of the orders in force one search may make when they keep changing under it.
_EXCLUSION_ATTEMPTS = 5


class ExclusionsUnsettled(RuntimeError):
    """The orders in force changed under every attempt of one search: refused, never unchecked."""


def tenant_faces_nearest(*, tenant: Tenant, embedding: np.ndarray, k: int,
                         include_platform_index: bool) -> list[Neighbour]:
    """The k faces most similar to `embedding` among those the tenant may see, never withheld ones.

    Runs inside the tenant's scope, so RLS applies as well. Besides the `withheld` flag, the query
    applies the registered search exclusions (portal/gallery/gates.py): the conditions of every
    regulatory order in force, so a covered face is skipped from the instant the order's
    activation commits. The exclusions come from the process's cache; the statement itself checks
    they are current and, when they are not, the search reads them again and runs once more.

    The HNSW graph is walked at half precision for k x SEARCH_RERANK_FACTOR candidates, which are
    re-ranked at full precision, so the distances returned are exact ones.

    One round trip in the usual case: the HNSW settings and the statement go out together in
    psycopg's pipeline mode, and the probe travels as a binary parameter (pgvector's adapter).

    With streaming replicas configured (settings.DATABASE_REPLICA_URLS) the statement runs on one
    of them first, and its answer stands only when that replica has replayed the orders in force
    the primary has; the primary then keeps, of its candidates, the faces it still shows under
    the same exclusions (portal/search/replica.py). Otherwise the primary answers, as here."""
    answer = replica_nearest(tenant=tenant, include_platform_index=include_platform_index,
                             rows_read=lambda exclusions: _nearest_rows(
                                 tenant=tenant, embedding=embedding, k=k, include_platform_index=include_platform_index,
                                 exclusions=exclusions))
    if answer is not None:
        return [Neighbour(face_id=face_id, similarity=1.0 - float(distance)) for face_id, distance in answer]
    fresh = False
    for _ in range(_EXCLUSION_ATTEMPTS):
        exclusions = search_exclusions(tenant=tenant, include_platform_index=include_platform_index, alias="f",
                                       fresh=fresh)
        rows = _nearest_rows(tenant=tenant, embedding=embedding, k=k, include_platform_index=include_platform_index,
                             exclusions=exclusions)
        if rows and rows[0][0]:
            return [Neighbour(face_id=face_id, similarity=1.0 - float(distance))
                    for _, face_id, distance in rows if face_id is not None]
        fresh = True
    raise ExclusionsUnsettled(f"The orders in force changed during each of {_EXCLUSION_ATTEMPTS} attempts to search.")


def nearest_statement(*, tenant: Tenant, embedding: np.ndarray, k: int, include_platform_index: bool,
                      exclusions: SearchExclusions) -> tuple[str, list, str, list]:
    """(settings SQL, its params, search SQL, its params): what tenant_faces_nearest sends; the
    benchmark explains the same statement."""
    vector = np.asarray(embedding, dtype=np.float32)
    candidates = nearest_candidates(k)
    settings_params = [str(max(settings.SEARCH_HNSW_EF, candidates))]
    if include_platform_index:
        # Two partitions: the planner merges an ordered scan of each (the platform index's graph,
        # and the tenant's graph or a sort of its few rows).
        scan = _SCAN_SQL.format(chosen="", gallery=gallery_condition(include_platform_index=True),
                                excluded=exclusions.sql, order=_GRAPH_ORDER)
        sql = _NEAREST_SQL.format(current=exclusions.current_sql, candidates=scan)
        params = [*exclusions.current_params, vector, tenant.pk, *exclusions.params, vector, candidates, k]
        return _HNSW_SETTINGS_SQL, settings_params, sql, params
    branches = []
    params = list(exclusions.current_params)
    for chosen, order, order_params, limit in ((f"{_EXACT_CHOICE_SQL} AND", _EXACT_ORDER, [], k),
                                               (f"NOT {_EXACT_CHOICE_SQL} AND", _GRAPH_ORDER, [vector], candidates)):
        branches.append("(" + _SCAN_SQL.format(chosen=chosen, gallery=gallery_condition(include_platform_index=False),
                                               excluded=exclusions.sql, order=order) + ")")
        params += [vector, settings.SEARCH_EXACT_SCAN_BELOW, tenant.pk, tenant.pk, *exclusions.params, *order_params,
                   limit]
    sql = _NEAREST_SQL.format(current=exclusions.current_sql, candidates=" UNION ALL ".join(branches))
    return _HNSW_SETTINGS_SQL, settings_params, sql, params + [k]


def nearest_candidates(k: int) -> int:
    """How many faces the half-precision graph hands over for re-ranking at full precision."""
    return k * settings.SEARCH_RERANK_FACTOR


def _nearest_rows(*, tenant: Tenant, embedding: np.ndarray, k: int, include_platform_index: bool,
                  exclusions: SearchExclusions) -> list[tuple]:
    settings_sql, settings_params, sql, params = nearest_statement(
        tenant=tenant, embedding=embedding, k=k, include_platform_index=include_platform_index, exclusions=exclusions)
    connection = scope_connection()
    with server_bound_cursor(connection) as cursor, connection.connection.pipeline():
        cursor.execute(settings_sql, settings_params)
        cursor.execute(sql, params)
        return cursor.fetchall()


def search_get(*, tenant: Tenant, public_id) -> Search:
    return Search.objects.filter(tenant=tenant).select_related("actor_user").get(public_id=public_id)


def searches_list(*, tenant: Tenant, case_reference: str | None = None, created_from: datetime | None = None,
                  created_to: datetime | None = None, actor_user_id: int | None = None):
    searches = Search.objects.filter(tenant=tenant).select_related("actor_user").order_by("-created_at", "-id")
    if case_reference:
        searches = searches.filter(case_reference__icontains=case_reference)
    if created_from is not None:
        searches = searches.filter(created_at__gte=created_from)
    if created_to is not None:
        searches = searches.filter(created_at__lt=created_to)
    if actor_user_id is not None:
        searches = searches.filter(actor_user_id=actor_user_id)
    return searches.annotate(leads_count=_leads_count())


def _leads_count():
    """The search's matches at or above its threshold, as a sub-select: PostgreSQL evaluates it for
    the rows of the page only, after the sort and the limit."""
    leads = (SearchMatch.objects.filter(search=OuterRef("pk")).exclude(band=Band.BELOW)
             .order_by().values("search").annotate(n=Count("*")).values("n"))
    return Coalesce(Subquery(leads), 0)


def search_matches(*, search: Search):
    if search.results_withheld:  # a refused or overdue authorisation (portal/search/authorisations.py)
        return SearchMatch.objects.none()
    return (SearchMatch.objects.filter(search=search)
            .select_related("face", "face__image", "face__subject").order_by("rank"))


def face_crop_get(*, tenant: Tenant, face_uuid) -> Face:
    """A face whose crop the tenant may see (the portal's thumbnails and the API's crops): one of
    its own gallery, or a platform-index face that one of its searches returned (RLS also hides
    the platform index from tenants not entitled to it). Withheld faces are covered by an order:
    their crops are never served again. Raises Face.DoesNotExist otherwise."""
    face = Face.objects.filter(tenant=tenant, uuid=face_uuid, withheld=False).first()
    if face is not None:
        return face
    match = (SearchMatch.objects.filter(tenant=tenant, face__uuid=face_uuid, face__withheld=False,
                                        face__tenant__isnull=True)
             .exclude(search__authorisation=Authorisation.PENDING, search__authorisation_due_at__lte=timezone.now())
             .select_related("face").first())
    if match is None:
        raise Face.DoesNotExist
    return match.face

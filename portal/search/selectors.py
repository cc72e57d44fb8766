"""Reading searches, and the similarity query itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.gallery.gates import search_exclusions_sql
from portal.gallery.models import Face
from portal.search.models import Authorisation, Band, Search, SearchMatch
from tenants.models import Tenant
from tenants.context import scope_connection


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    similarity: float


def tenant_faces_nearest(*, tenant: Tenant, embedding: np.ndarray, k: int,
                         include_platform_index: bool) -> list[Neighbour]:
    """The k faces most similar to `embedding` among those the tenant may see, never withheld ones.

    Runs inside the tenant's scope, so RLS applies as well. Besides the `withheld` flag, the query
    applies the registered search exclusions (portal/gallery/gates.py): the conditions of every
    regulatory order in force, so a covered face is skipped from the instant the order's
    activation commits. HNSW iterative scans keep walking the graph until these filters leave k
    rows (pgvector 0.8), and the materialised CTE restores exact order after the relaxed scan.
    """
    gallery = "(f.tenant_id = %s OR f.tenant_id IS NULL)" if include_platform_index else "f.tenant_id = %s"
    excluded, excluded_params = search_exclusions_sql(tenant=tenant, include_platform_index=include_platform_index,
                                                      alias="f")
    vector = np.asarray(embedding, dtype=np.float32)  # pgvector's adapter sends it
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),"
                       " set_config('hnsw.ef_search', %s, true)", [str(max(settings.SEARCH_HNSW_EF, k))])
        cursor.execute(
            f"""
            WITH nearest AS MATERIALIZED (
                SELECT f.id, f.embedding <=> %s::vector AS distance
                FROM gallery_face f
                WHERE NOT f.withheld AND {gallery} AND {excluded}
                ORDER BY f.embedding <=> %s::vector
                LIMIT %s
            )
            SELECT id, distance FROM nearest ORDER BY distance, id
            """,
            [vector, tenant.pk, *excluded_params, vector, k],
        )
        return [Neighbour(face_id=face_id, similarity=1.0 - float(distance)) for face_id, distance in cursor.fetchall()]


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

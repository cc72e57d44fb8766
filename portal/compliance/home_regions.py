"""Tenants whose pictures of unknown region a regional order refuses.

A picture with no declared region, no GPS position and no country domain is filed under its
tenant's home country (gallery/regions.py: region_resolve). So a regional order covering a
tenant's home country refuses every such picture of that tenant: the tenant is told why on its
gallery and enrolment pages, and the operator is warned in the order's preview before activating.
Asked of coverage.py's own predicate, over the row such a picture would be, as the ingest gate does.
"""

from __future__ import annotations

from portal.compliance import coverage
from portal.compliance.models import RegulatoryOrder
from tenants.context import dangerously_unscoped, scope_connection
from tenants.models import Tenant

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind


def _unknown_region_refused(*, order: RegulatoryOrder, tenants: list[Tenant]) -> set[int]:
    """The ids of `tenants` whose pictures of unknown region the order covers."""
    if order.kind != Kind.REGIONAL or not tenants:
        return set()
    rows = ", ".join(["(%s::bigint, %s::varchar, ''::varchar, NULL::vector)"] * len(tenants))
    predicate = coverage.candidate_predicate(order=order, alias="f")
    with scope_connection().cursor() as cursor:
        cursor.execute(f"WITH candidate (tenant_id, region, source_domain, embedding) AS (VALUES {rows}) "
                       f"SELECT f.tenant_id FROM candidate f WHERE {predicate.sql}",
                       [x for t in tenants for x in (t.pk, t.home_country or None)] + list(predicate.params))
        return {row[0] for row in cursor.fetchall()}


def tenants_blocked_unknown_region(*, order: RegulatoryOrder) -> list[Tenant]:
    """For the order's preview: the active tenants that could no longer ingest pictures of unknown
    region once it is in force, because they default to a home country it covers."""
    with dangerously_unscoped(reason="previewing which tenants an order blocks"):
        tenants = list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).order_by("name"))
        blocked = _unknown_region_refused(order=order, tenants=tenants)
    return [t for t in tenants if t.pk in blocked]


def home_region_refusals(*, tenant: Tenant) -> list[RegulatoryOrder]:
    """The regional orders in force that refuse this tenant's pictures of unknown region. Runs in
    the tenant's scope (orders are readable by every tenant, as the ingest gate reads them)."""
    orders = RegulatoryOrder.objects.exclude(status=Status.DRAFT).filter(kind=Kind.REGIONAL).order_by("id")
    return [order for order in orders if _unknown_region_refused(order=order, tenants=[tenant])]

"""Compliance's side of the gates (portal/gallery/gates.py): what an order in force or an opt-out
refuses at ingest and keeps out of search. Registered in ComplianceConfig.ready(); with nothing
registered, ingest and search raise and the system check fails (portal/gallery/checks.py)."""

from __future__ import annotations

import numpy as np

from portal.compliance import coverage
from portal.compliance.in_force import current_condition, orders_in_force
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.gallery.gates import (ExclusionConditions, IngestRefused, register_ingest_gate, register_result_filter,
                                  register_search_exclusion)
from tenants.models import Tenant
from tenants.context import scope_connection
from django.utils.translation import gettext as _

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind
# Compiled conditions kept per version: one entry per tenant and kind of search.
_COMPILED_PER_VERSION = 10_000


def order_search_exclusion(*, tenant: Tenant, include_platform_index: bool, alias: str,
                           fresh: bool = False) -> ExclusionConditions:
    """The conditions of the regional, source and offboarding orders in force (every status but
    draft) that reach the galleries this search reads, over `gallery_face AS alias`. They test the
    face's own columns (region, source domain, tenant), merged into one condition per kind and
    gallery reached (coverage.search_exclusion_predicates), so neither a scan's cost per face nor
    the planner's choice of the graph changes with the number of orders in force. Subject orders
    are withheld at activation instead (orders.order_activate).

    The orders come from this process's cache (portal/compliance/in_force.py) unless `fresh`; the
    answer's `current` condition is true only while they are still the orders in force."""
    in_force = orders_in_force(fresh=fresh)
    key = (tenant.pk, include_platform_index, alias)
    conditions = in_force.compiled.get(key)
    if conditions is None:
        conditions = [(predicate.sql, predicate.params) for predicate in coverage.search_exclusion_predicates(
            orders=in_force.orders, tenant_id=tenant.pk, include_platform_index=include_platform_index, alias=alias)]
        if len(in_force.compiled) < _COMPILED_PER_VERSION:
            in_force.compiled[key] = conditions
    return ExclusionConditions(conditions=conditions, current=current_condition(in_force.version))


def _in_scope(order: RegulatoryOrder, tenant: Tenant | None) -> bool:
    """Whether the order reaches the gallery (a tenant's, or the platform index for None). The SQL
    scope in coverage.py is the definition; this only skips orders that cannot apply."""
    if order.kind == Kind.OFFBOARDING:
        return tenant is not None and tenant.pk in order.offboard_tenant_ids
    if order.scope_all:
        return True
    return order.scope_platform_index if tenant is None else tenant.pk in order.scope_tenant_ids


def order_ingest_gate(*, tenant: Tenant | None, region: str | None, source_domain: str, embeddings) -> None:
    """Refuses a picture that an order in force covers (every status but draft: an order keeps
    refusing after its deletions are verified), or a person who opted out (a public request's
    suppression reaches the platform index only, as in opt_out_result_filter).

    "Covered" is asked of coverage.py's own predicates, evaluated over the picture as it would be
    stored: one candidate row per face with the columns the predicates read (tenant, region,
    source domain, embedding). So ingest refuses exactly what preview, enforcement, verification
    and the search exclusion would count, with no second definition of regions or domains."""
    orders = [order for order in RegulatoryOrder.objects.exclude(status=Status.DRAFT).order_by("id").only(
        "kind", "authority", "reference", "regions", "include_unknown_region", "domains", "match_threshold",
        "offboard_tenant_ids", "scope_all", "scope_tenant_ids", "scope_platform_index") if _in_scope(order, tenant)]
    candidates = [np.asarray(e, dtype=np.float32) for e in embeddings] or [None]
    rows = ", ".join(["(%s::bigint, %s::varchar, %s::varchar, %s::vector)"] * len(candidates))
    row_params = [x for e in candidates for x in (tenant.pk if tenant else None, region or None, source_domain, e)]
    with scope_connection().cursor() as cursor:
        if orders:
            tests, params = [], []
            for order in orders:
                predicate = coverage.candidate_predicate(order=order, alias="f")
                tests.append(f"SELECT %s::bigint WHERE EXISTS (SELECT 1 FROM candidate f WHERE {predicate.sql})")
                params += [order.pk, *predicate.params]
            cursor.execute(f"WITH candidate (tenant_id, region, source_domain, embedding) AS (VALUES {rows}) "
                           f"SELECT * FROM ({' UNION ALL '.join(tests)}) covered LIMIT 1", [*row_params, *params])
            row = cursor.fetchone()
            if row:
                order = next(o for o in orders if o.pk == row[0])
                message = (_("The picture shows a person covered by %(authority)s order %(reference)s.")
                           if order.kind == Kind.SUBJECT else
                           _("The picture is covered by %(authority)s order %(reference)s."))
                raise IngestRefused(message % {"authority": order.authority, "reference": order.reference},
                                    reference=order.reference)
        if embeddings:
            cursor.execute(
                "SELECT o.public_id FROM compliance_optoutembedding e JOIN compliance_optout o ON o.id = e.opt_out_id"
                " WHERE o.status <> %s AND (o.channel = %s OR %s::bigint IS NULL)"
                " AND EXISTS (SELECT 1 FROM unnest(%s::vector[]) c (embedding)"
                "  WHERE (e.embedding <=> c.embedding) < 1 - o.match_threshold) LIMIT 1",
                [OptOut.Status.REJECTED, OptOut.Channel.OPERATOR, tenant.pk if tenant else None,
                 [np.asarray(e, dtype=np.float32) for e in embeddings]])
            row = cursor.fetchone()
            if row:
                raise IngestRefused(_("The picture shows a person who opted out of the platform."),
                                    reference=f"opt-out {str(row[0])[:8]}")


def order_result_filter(*, tenant: Tenant, face_ids: list[int], probe_embedding) -> set[int]:
    """Faces among the results that an order in force covers: the second line behind the search
    exclusion (order_search_exclusion), kept for every kind on purpose.

    For subject orders it is the line that counts: their faces are found by similarity, which the
    query cannot test per row, so a face stored between the ingest gate's check and the order's
    activation is caught here until the sweep withholds it. For regional, source and offboarding
    orders the same predicate already runs inside the query, so this only matters if a search
    path ever reads faces without the exclusion; one small query on at most k + headroom ids is
    the price of that guarantee living in the search service as well as in one SQL statement."""
    if not face_ids:
        return set()
    orders = list(RegulatoryOrder.objects.exclude(status=Status.DRAFT))
    if not orders:
        return set()
    predicates = [coverage.face_predicate(order=order, alias="f") for order in orders]
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT f.id FROM gallery_face f WHERE f.id = ANY(%s) AND ("
                       + " OR ".join(f"({p.sql})" for p in predicates) + ")",
                       [list(face_ids), *[x for p in predicates for x in p.params]])
        return {row[0] for row in cursor.fetchall()}


def opt_out_result_filter(*, tenant: Tenant, face_ids: list[int], probe_embedding) -> set[int]:
    """Faces among the results that match a person's suppression embeddings. An opt-out the
    operator entered reaches every gallery; one received through the public form reaches the
    platform index only: a tenant's gallery is that tenant's to decide (portal/rights/)."""
    if not face_ids:
        return set()
    with scope_connection().cursor() as cursor:
        cursor.execute(
            "SELECT f.id FROM gallery_face f WHERE f.id = ANY(%s) AND EXISTS ("
            " SELECT 1 FROM compliance_optoutembedding e JOIN compliance_optout o ON o.id = e.opt_out_id"
            " WHERE o.status <> %s AND (o.channel = %s OR f.tenant_id IS NULL)"
            " AND (f.embedding <=> e.embedding) < 1 - o.match_threshold)",
            [list(face_ids), OptOut.Status.REJECTED, OptOut.Channel.OPERATOR])
        return {row[0] for row in cursor.fetchall()}


def gates_register() -> None:
    """Called by ComplianceConfig.ready(): without these, ingest and search refuse to run."""
    register_ingest_gate(order_ingest_gate)
    register_search_exclusion(order_search_exclusion)
    register_result_filter(opt_out_result_filter)
    register_result_filter(order_result_filter)

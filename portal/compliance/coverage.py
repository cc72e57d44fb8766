"""What a regulatory order covers, as SQL over the gallery and search tables.

Nothing is stored per covered row: the ingest gate, the search exclusion, activation, preview,
enforcement, the sweep and verification all ask the same predicates, so "what the order covers"
has one definition. Every query here must run
inside `dangerously_unscoped(...)`: orders span tenants and the platform index.

Which rows an order covers, by kind:
- regional: images (and their faces) whose region is one of the order's regions or lies within
  one (portal/gallery/regions.py: "FR" covers FR and FR-*, "US-IL" covers only US-IL and the
  subdivisions ISO places beneath it), plus images of unknown region when the order says so.
- source: images collected from one of the domains or any subdomain of it.
- subject: images holding a face within the order's match threshold of a reference face; the
  whole picture goes, since the original shows the person.
- offboarding: everything in the offboarded tenants' galleries.
Probes (a search's uploaded picture and embedding): a subject order covers probes within its
threshold of a reference face; offboarding covers every search of the tenants. Regional and
source orders cover no probes: a probe is the tenant's own evidence, with no region or source
recorded, and it is purged at the end of the tenant's retention. Their matches pointing at covered
faces are deleted with the faces.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pycountry

from portal.compliance.models import RegulatoryOrder
from portal.gallery.regions import domain_from_url, region_covers, region_normalise
from tenants.context import scope_connection

COUNTED = ("images", "faces", "crops", "probes", "matches")


@dataclass(frozen=True)
class Predicate:
    sql: str
    params: list = field(default_factory=list)


def region_codes_covered(*, order_region: str) -> tuple[str, list[str]]:
    """(country prefix or "", exact codes) that an order region covers, following region_covers():
    a country covers itself and every subdivision (matched by prefix, so codes ISO withdrew still
    match); a subdivision covers itself and the subdivisions beneath it."""
    code = region_normalise(code=order_region)
    if "-" not in code:
        return code, [code]
    country = code.split("-")[0]
    below = [s.code for s in pycountry.subdivisions.get(country_code=country) or []
             if s.code != code and region_covers(order_region=code, region=s.code)]
    return "", [code, *below]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The region and source tests take several orders at once (those of one kind that reach the same
# galleries of a search), so a scan's work per row grows little with the orders in force (README,
# "The orders in force, merged"): a region is tested by its country (the code before the first
# "-", which covers the country and every subdivision, as the prefix "FR-" does) against every
# country ordered, and by itself against every subdivision ordered, each one `= ANY`, which
# PostgreSQL hashes from nine elements on.
def _region_predicate(*, orders: list[RegulatoryOrder], column: str) -> Predicate:
    countries, subdivisions = set(), set()
    for order in orders:
        for order_region in order.regions:
            country, codes = region_codes_covered(order_region=order_region)
            if country:
                countries.add(country)  # its codes are the country alone, which the test also covers
            else:
                subdivisions.update(codes)
    unknown = [f"({column} IS NULL OR {column} = '')"] if any(order.include_unknown_region for order in orders) else []
    return _any_of((f"split_part({column}, '-', 1) = ANY(%s)", countries), (f"{column} = ANY(%s)", subdivisions),
                   also=unknown)


def _source_predicate(*, orders: list[RegulatoryOrder], column: str) -> Predicate:
    exact, suffixes = set(), set()
    for order in orders:
        for order_domain in order.domains:
            domain = domain_from_url(url=order_domain)
            if domain is None:
                continue
            exact.add(domain)
            if not domain.replace(".", "").isdigit() and ":" not in domain:  # IP addresses match exactly
                suffixes.add("%." + _like_escape(domain))
    return _any_of((f"{column} = ANY(%s)", exact), (f"{column} LIKE ANY(%s)", suffixes))


def _any_of(*tests: tuple[str, set], also: list[str] = ()) -> Predicate:
    """True where one of `tests` (SQL with one array parameter, and its values) holds, skipping
    those without values, or one of the `also` conditions; FALSE when none is left."""
    parts = [sql for sql, values in tests if values] + list(also)
    params = [sorted(values) for _sql, values in tests if values]
    return Predicate("(" + (" OR ".join(parts) or "FALSE") + ")", params)


def _subject_distance(*, order: RegulatoryOrder, column: str) -> Predicate:
    references, key = "compliance_orderreferenceface r WHERE r.order_id", order.pk
    if order.pk is None and order.opt_out_id is not None:
        # The preview of an opt-out not confirmed yet (selectors.opt_out_preview): its suppression
        # templates stand in for the reference faces that opt_out_confirm copies from them.
        references, key = "compliance_optoutembedding r WHERE r.opt_out_id", order.opt_out_id
    return Predicate(
        f"EXISTS (SELECT 1 FROM {references} = %s AND ({column} <=> r.embedding) < %s)",
        [key, 1.0 - float(order.match_threshold)],
    )


def _scope(*, order: RegulatoryOrder, column: str) -> Predicate:
    if order.kind == RegulatoryOrder.Kind.OFFBOARDING:
        return Predicate(f"{column} = ANY(%s)", [list(order.offboard_tenant_ids)])
    if order.scope_all:
        return Predicate("TRUE")
    return Predicate(f"({column} = ANY(%s) OR ({column} IS NULL AND %s))",
                     [list(order.scope_tenant_ids), bool(order.scope_platform_index)])


def _and(*predicates: Predicate) -> Predicate:
    return Predicate(" AND ".join(p.sql for p in predicates), [x for p in predicates for x in p.params])


def image_predicate(*, order: RegulatoryOrder, alias: str = "i") -> Predicate:
    """Covered rows of gallery_image AS `alias`."""
    scope = _scope(order=order, column=f"{alias}.tenant_id")
    kind = order.kind
    if kind == RegulatoryOrder.Kind.REGIONAL:
        return _and(scope, _region_predicate(orders=[order], column=f"{alias}.region"))
    if kind == RegulatoryOrder.Kind.SOURCE:
        return _and(scope, _source_predicate(orders=[order], column=f"{alias}.source_domain"))
    if kind == RegulatoryOrder.Kind.SUBJECT:
        match = _subject_distance(order=order, column="fx.embedding")
        return _and(scope, Predicate(f"EXISTS (SELECT 1 FROM gallery_face fx WHERE fx.image_id = {alias}.id"
                                     f" AND {match.sql})", match.params))
    return scope  # offboarding: the whole gallery


def face_predicate(*, order: RegulatoryOrder, alias: str = "f") -> Predicate:
    """Covered rows of gallery_face AS `alias`: the faces of covered images. Regional and source
    orders test the face's own copies of region and source domain, so no join is needed."""
    scope = _scope(order=order, column=f"{alias}.tenant_id")
    kind = order.kind
    if kind == RegulatoryOrder.Kind.REGIONAL:
        return _and(scope, _region_predicate(orders=[order], column=f"{alias}.region"))
    if kind == RegulatoryOrder.Kind.SOURCE:
        return _and(scope, _source_predicate(orders=[order], column=f"{alias}.source_domain"))
    if kind == RegulatoryOrder.Kind.SUBJECT:
        images = image_predicate(order=order, alias="ix")
        return Predicate(f"{alias}.image_id IN (SELECT ix.id FROM gallery_image ix WHERE {images.sql})", images.params)
    return scope


def search_exclusion_predicates(*, orders: list[RegulatoryOrder], tenant_id: int, include_platform_index: bool,
                                alias: str = "f") -> list[Predicate]:
    """The faces of one tenant's search (its gallery, and the platform index when included) that
    regional, source and offboarding `orders` cover: at most seven predicates whose OR is, on those
    faces, exactly the OR of the orders' face_predicate(). An order's scope only decides which of
    the search's two galleries it reaches, so the orders are grouped by kind and by the galleries
    they reach, each group testing the column once: the cost a scanned face pays, and the
    planner's estimate of the rows that pass, stay those of a few orders however many are in force
    (README, "The orders in force, merged"). Subject orders cannot be tested per row (they are
    withheld at activation)."""
    tenant_rows = Predicate(f"{alias}.tenant_id = %s", [tenant_id])
    platform_rows = Predicate(f"{alias}.tenant_id IS NULL")
    both = Predicate(f"({tenant_rows.sql} OR {platform_rows.sql})", tenant_rows.params)
    offboarded = False
    groups: dict[tuple, list[RegulatoryOrder]] = {}
    for order in orders:
        if order.kind == RegulatoryOrder.Kind.SUBJECT:
            raise ValueError("A subject order's faces are found by similarity, not by a test of the row.")
        if order.kind == RegulatoryOrder.Kind.OFFBOARDING:
            offboarded = offboarded or tenant_id in order.offboard_tenant_ids
            continue
        reaches = (order.scope_all or tenant_id in order.scope_tenant_ids,
                   include_platform_index and (order.scope_all or order.scope_platform_index))
        if any(reaches):
            groups.setdefault((order.kind, *reaches), []).append(order)
    predicates = [tenant_rows] if offboarded else []
    for (kind, tenant, platform), members in groups.items():
        scope = both if tenant and platform else tenant_rows if tenant else platform_rows
        if kind == RegulatoryOrder.Kind.REGIONAL:
            predicates.append(_and(scope, _region_predicate(orders=members, column=f"{alias}.region")))
        else:
            predicates.append(_and(scope, _source_predicate(orders=members, column=f"{alias}.source_domain")))
    return predicates


def candidate_predicate(*, order: RegulatoryOrder, alias: str = "f") -> Predicate:
    """Covered rows of a picture not stored yet, for the ingest gate: `alias` is one row per face
    with the columns of gallery_face that the predicates read (tenant_id, region, source_domain,
    embedding). Regional, source and offboarding orders test exactly what face_predicate tests; a
    subject order covers the picture when any of its faces is within the threshold, as
    image_predicate does for a stored picture."""
    if order.kind == RegulatoryOrder.Kind.SUBJECT:
        return _and(_scope(order=order, column=f"{alias}.tenant_id"),
                    _subject_distance(order=order, column=f"{alias}.embedding"))
    return face_predicate(order=order, alias=alias)


def probe_predicate(*, order: RegulatoryOrder, alias: str = "s") -> Predicate | None:
    """Covered rows of search_search AS `alias`, or None when the order covers no probes."""
    scope = _scope(order=order, column=f"{alias}.tenant_id")
    if order.kind == RegulatoryOrder.Kind.SUBJECT:
        return _and(scope, Predicate(f"{alias}.probe_embedding IS NOT NULL"),
                    _subject_distance(order=order, column=f"{alias}.probe_embedding"))
    if order.kind == RegulatoryOrder.Kind.OFFBOARDING:
        return scope
    return None


def coverage_count(*, order: RegulatoryOrder) -> dict[int | None, dict[str, int]]:
    """Per gallery (tenant id, None for the platform index): covered images, faces, crops,
    probes and matches. Matches count under the tenant that ran the search."""
    counts: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTED, 0))
    images = image_predicate(order=order)
    faces = face_predicate(order=order)
    probes = probe_predicate(order=order)
    with scope_connection().cursor() as cursor:
        cursor.execute(f"SELECT i.tenant_id, count(*) FROM gallery_image i WHERE {images.sql} GROUP BY 1", images.params)
        for tenant_id, n in cursor.fetchall():
            counts[tenant_id]["images"] = n
        cursor.execute(f"SELECT f.tenant_id, count(*), count(*) FILTER (WHERE f.crop <> '') FROM gallery_face f"
                       f" WHERE {faces.sql} GROUP BY 1", faces.params)
        for tenant_id, n, crops in cursor.fetchall():
            counts[tenant_id]["faces"] = n
            counts[tenant_id]["crops"] = crops
        match_sql = f"m.face_id IN (SELECT f.id FROM gallery_face f WHERE {faces.sql})"
        match_params = list(faces.params)
        if probes is not None:
            cursor.execute(f"SELECT s.tenant_id, count(*) FROM search_search s WHERE {probes.sql}"
                           f" AND (s.probe <> '' OR s.probe_embedding IS NOT NULL OR %s) GROUP BY 1",
                           [*probes.params, order.kind == RegulatoryOrder.Kind.OFFBOARDING])
            for tenant_id, n in cursor.fetchall():
                counts[tenant_id]["probes"] = n
            match_sql += f" OR m.search_id IN (SELECT s.id FROM search_search s WHERE {probes.sql})"
            match_params += probes.params
        cursor.execute(f"SELECT m.tenant_id, count(*) FROM search_searchmatch m WHERE {match_sql} GROUP BY 1",
                       match_params)
        for tenant_id, n in cursor.fetchall():
            counts[tenant_id]["matches"] = n
    return dict(counts)


def coverage_totals(counts: dict[int | None, dict[str, int]]) -> dict[str, int]:
    return {kind: sum(gallery.get(kind, 0) for gallery in counts.values()) for kind in COUNTED}

"""Where compliance plugs into ingest and search, without gallery or search importing it.

The rule that matters most, "nothing an order covers is ingested or returned", is decided by the
compliance app (portal/compliance/gates.py), which sits above gallery and search and registers
its gates here when it loads:
- ingest gates refuse a picture that an order in force or an opt-out covers;
- search exclusions are SQL conditions the similarity query itself applies, so a face an order
  covers stops being returned the moment the order's activation commits;
- result filters drop faces that slip into results by similarity (a subject order's or an
  opt-out's person), which the query cannot test per row.

The gates fail closed. With no ingest gate or no search exclusion registered, ingest and search
raise GatesMissing instead of letting everything through, and the system check
`gallery.E001` (portal/gallery/checks.py) stops start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

from portal.errors import DomainError

if TYPE_CHECKING:
    import numpy as np

    from tenants.models import Tenant


class IngestRefused(DomainError):
    """A regulatory order or opt-out covers the picture (HTTP 451 in the API)."""

    code = "refused_by_order"
    status = 451

    def __init__(self, message: str, *, reference: str = "") -> None:
        super().__init__(message)
        self.reference = reference

    def extra(self) -> dict:
        return {"reference": self.reference}


class GatesMissing(ImproperlyConfigured):
    """Ingest or search ran with no compliance gate registered: refused rather than unchecked."""


class IngestGate(Protocol):
    def __call__(self, *, tenant: "Tenant | None", region: str | None, source_domain: str,
                 embeddings: "list[np.ndarray]") -> None: ...


class ResultFilter(Protocol):
    def __call__(self, *, tenant: "Tenant", face_ids: list[int], probe_embedding: "np.ndarray") -> set[int]: ...


@dataclass(frozen=True)
class ExclusionConditions:
    """What a search exclusion answers: SQL conditions over `gallery_face AS alias`, each true for
    a face the search must skip, and `current`, a condition true while those are still the ones in
    force (an exclusion that caches its conditions tests its version there; one that reads afresh
    each time leaves it TRUE)."""

    conditions: list[tuple[str, list]]
    current: tuple[str, list] = ("TRUE", [])


class SearchExclusion(Protocol):
    """`fresh` asks for conditions read from the database now, not from a cache."""

    def __call__(self, *, tenant: "Tenant", include_platform_index: bool, alias: str,
                 fresh: bool) -> ExclusionConditions: ...


@dataclass(frozen=True)
class SearchExclusions:
    """`sql` is true for the faces a search may return; `current_sql` is true while `sql` is still
    what the orders in force say. The similarity query tests both in one statement, so a face is
    never returned under conditions that went out of date before that statement began."""

    sql: str
    params: list = field(default_factory=list)
    current_sql: str = "TRUE"
    current_params: list = field(default_factory=list)


_ingest_gates: list[IngestGate] = []
_search_exclusions: list[SearchExclusion] = []
_result_filters: list[ResultFilter] = []


def register_ingest_gate(gate: IngestGate) -> IngestGate:
    if gate not in _ingest_gates:
        _ingest_gates.append(gate)
    return gate


def register_search_exclusion(exclusion: SearchExclusion) -> SearchExclusion:
    if exclusion not in _search_exclusions:
        _search_exclusions.append(exclusion)
    return exclusion


def register_result_filter(result_filter: ResultFilter) -> ResultFilter:
    if result_filter not in _result_filters:
        _result_filters.append(result_filter)
    return result_filter


def gates_missing() -> list[str]:
    """The kinds of gate nothing is registered for (empty when ingest and search are guarded)."""
    return [kind for kind, registered in (("ingest gate", _ingest_gates), ("search exclusion", _search_exclusions))
            if not registered]


def _gates_require() -> None:
    missing = gates_missing()
    if missing:
        raise GatesMissing(f"No {' and no '.join(missing)} is registered: the compliance app "
                           f"(portal.compliance) must be installed, or nothing an order covers would be refused.")


def ingest_gates_check(*, tenant, region, source_domain, embeddings) -> None:
    _gates_require()
    for gate in _ingest_gates:
        gate(tenant=tenant, region=region, source_domain=source_domain, embeddings=embeddings)


def search_exclusions(*, tenant, include_platform_index: bool, alias: str, fresh: bool = False) -> SearchExclusions:
    """One condition, true for the faces a search may return: none of the registered exclusions
    holds. A condition that is NULL for a row (a face of unknown region tested against a region
    list) counts as not excluding it. With `fresh` False the exclusions may answer from their
    caches; the caller must then test `current_sql` in the same statement (tenant_faces_nearest)."""
    _gates_require()
    conditions: list[tuple[str, list]] = []
    currents: list[tuple[str, list]] = []
    for exclusion in _search_exclusions:
        answer = exclusion(tenant=tenant, include_platform_index=include_platform_index, alias=alias, fresh=fresh)
        conditions += answer.conditions
        currents.append(answer.current)
    current_sql = " AND ".join(f"({sql})" for sql, _ in currents)
    current_params = [param for _, params in currents for param in params]
    if not conditions:  # the registered exclusions were asked: no order in force reaches this search
        return SearchExclusions("TRUE", [], current_sql, current_params)
    return SearchExclusions("NOT (" + " OR ".join(f"COALESCE(({sql}), false)" for sql, _ in conditions) + ")",
                            [param for _, params in conditions for param in params], current_sql, current_params)


def search_exclusions_sql(*, tenant, include_platform_index: bool, alias: str) -> tuple[str, list]:
    """The exclusions read afresh, as (sql, params), for a statement that does not test currency."""
    exclusions = search_exclusions(tenant=tenant, include_platform_index=include_platform_index, alias=alias,
                                   fresh=True)
    return exclusions.sql, exclusions.params


def result_filters_apply(*, tenant, face_ids: list[int], probe_embedding) -> set[int]:
    dropped: set[int] = set()
    for result_filter in _result_filters:
        dropped |= result_filter(tenant=tenant, face_ids=face_ids, probe_embedding=probe_embedding)
    return dropped

"""Where compliance plugs into ingest and search, without gallery or search importing it.

The compliance app registers its checks when it loads: ingest gates refuse pictures that an
active order or opt-out covers; search exclusions are SQL conditions the similarity query itself
applies, so a face an order covers stops being returned the moment the order's activation commits,
before (and whether or not) its `withheld` flag has been set; result filters drop faces that slip
into search results (an opt-out's suppression embeddings matched after the face was stored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from tenants.models import Tenant


class IngestRefused(Exception):
    """A regulatory order or opt-out covers the picture (HTTP 451 in the API)."""

    code = "refused_by_order"
    http_status = 451

    def __init__(self, message: str, *, reference: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference


class IngestGate(Protocol):
    def __call__(self, *, tenant: "Tenant | None", region: str | None, source_domain: str,
                 embeddings: "list[np.ndarray]") -> None: ...


class ResultFilter(Protocol):
    def __call__(self, *, tenant: "Tenant", face_ids: list[int], probe_embedding: "np.ndarray") -> set[int]: ...


class SearchExclusion(Protocol):
    """SQL conditions over `gallery_face AS alias`, each true for a face the search must skip."""

    def __call__(self, *, tenant: "Tenant", include_platform_index: bool,
                 alias: str) -> "list[tuple[str, list]]": ...


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


def ingest_gates_check(*, tenant, region, source_domain, embeddings) -> None:
    for gate in _ingest_gates:
        gate(tenant=tenant, region=region, source_domain=source_domain, embeddings=embeddings)


def search_exclusions_sql(*, tenant, include_platform_index: bool, alias: str) -> tuple[str, list]:
    """One condition, true for the faces a search may return: none of the registered exclusions
    holds. A condition that is NULL for a row (a face of unknown region tested against a region
    list) counts as not excluding it."""
    conditions: list[tuple[str, list]] = []
    for exclusion in _search_exclusions:
        conditions += exclusion(tenant=tenant, include_platform_index=include_platform_index, alias=alias)
    if not conditions:
        return "TRUE", []
    return ("NOT (" + " OR ".join(f"COALESCE(({sql}), false)" for sql, _ in conditions) + ")",
            [param for _, params in conditions for param in params])


def result_filters_apply(*, tenant, face_ids: list[int], probe_embedding) -> set[int]:
    dropped: set[int] = set()
    for result_filter in _result_filters:
        dropped |= result_filter(tenant=tenant, face_ids=face_ids, probe_embedding=probe_embedding)
    return dropped



"""The orders in force that the search exclusion applies, cached per process by version.

Reading them on every search cost a query per search. Each process now keeps the last set it
read, labelled with the version of the orders it read just before (compliance/0010: a statement
trigger gives the version a new number from a sequence with every change to
`compliance_regulatoryorder`, in the changing transaction). Each search statement tests
`current_condition()`, the version still being the cached one, in the same snapshot as the faces
it returns (portal/search/selectors.py); when it is not, the search reads the orders again.

Why the order of the reads matters: the version is read before the orders, each in its own
statement, so the orders cached are at least as new as their label. A label older than its
contents only costs one more read; a label newer than its contents cannot happen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from portal.compliance.models import RegulatoryOrder
from tenants.context import scope_connection

_VERSION_SQL = "SELECT version FROM compliance_ordersversion WHERE id = 1"


@dataclass
class InForce:
    version: int
    orders: tuple[RegulatoryOrder, ...]
    # Compiled conditions per (tenant id, platform index included, alias), filled by the gate.
    compiled: dict = field(default_factory=dict)


_cached: InForce | None = None
_lock = threading.Lock()


def current_condition(version: int) -> tuple[str, list]:
    """SQL true while the orders in force are still those of `version`."""
    return f"({_VERSION_SQL}) = %s", [version]


def orders_version_read() -> int:
    with scope_connection().cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        row = cursor.fetchone()
    if row is None:
        raise ImproperlyConfigured("compliance_ordersversion has no row: run migrate (compliance/0010).")
    return row[0]


def orders_in_force(*, fresh: bool) -> InForce:
    """The regional, source and offboarding orders in force (every status but draft), from this
    process's cache unless `fresh`. Subject orders are withheld at activation instead."""
    global _cached
    cached = _cached
    if cached is not None and not fresh:
        return cached
    version = orders_version_read()
    orders = tuple(RegulatoryOrder.objects.exclude(status=RegulatoryOrder.Status.DRAFT)
                   .exclude(kind=RegulatoryOrder.Kind.SUBJECT).order_by("id")
                   .only("kind", "regions", "include_unknown_region", "domains", "offboard_tenant_ids",
                         "scope_all", "scope_tenant_ids", "scope_platform_index"))
    entry = InForce(version=version, orders=orders)
    with _lock:
        _cached = entry
    return entry


def orders_in_force_forget() -> None:
    """Drops this process's cache (the benchmark's reference path; never needed for correctness)."""
    global _cached
    with _lock:
        _cached = None

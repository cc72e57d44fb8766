"""Floors no caller can lower: per kind of tenant, the lowest lead threshold and the most matches
a search may ask for.

The platform sets them (`floor_set`, the platform area); a tenant may set stricter values for
itself (`tenant_search_limits_set`, its settings page), never looser. A search that asks for a
lower threshold or more matches is refused with a 400 that names the limit: nothing is silently
changed. A search that asks for nothing gets the calibrated default threshold, raised to the
floor, and the default number of matches, lowered to the limit.

Retail tenants are not shown faces below their threshold at all: `search_run` does not keep
them. Law-enforcement and other tenants see them behind the "below the threshold, not leads"
fold, as material for the reviewer, never as leads.

The values and the similarity distributions that justify them are in the README ("Floors").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.search.models import SearchFloor
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _

# The floors' first values (search/0006); they also stand in while a kind has no row.
FLOOR_DEFAULTS = {Tenant.Kind.LAW_ENFORCEMENT: (0.90, 50), Tenant.Kind.RETAIL: (0.93, 10),
                  Tenant.Kind.OTHER: (0.90, 20)}
# A floor below this would count as leads pairs of different people that are common in the
# measured distributions; above 0.99 hardly any genuine pair is a lead.
FLOOR_THRESHOLD_RANGE = (0.85, 0.99)


class LimitInvalid(DomainError):
    """A threshold or a number of matches that a floor forbids, or a floor out of range."""

    code = "limit_invalid"


@dataclass(frozen=True)
class SearchLimits:
    """What a tenant's searches may ask for: the stricter of the platform's floor and its own."""

    min_threshold: float
    max_k: int
    floor_threshold: float
    floor_max_k: int
    kind_label: str

    def threshold_for(self, asked: float | None) -> float:
        if asked is None:
            return max(settings.SEARCH_MATCH_THRESHOLD, self.min_threshold)
        if asked < self.min_threshold:
            names = {"asked": format(asked, "g"), "floor": format(self.min_threshold, "g"), "kind": self.kind_label}
            if self.min_threshold > self.floor_threshold:
                message = _("threshold %(asked)s is below the floor of %(floor)s your organisation set; "
                            "ask for %(floor)s or more.")
            else:
                message = _("threshold %(asked)s is below the floor of %(floor)s the platform set for %(kind)s "
                            "tenants; ask for %(floor)s or more.")
            raise LimitInvalid(message % names, field="threshold")
        return asked

    def k_for(self, asked: int | None) -> int:
        if asked is None:
            return min(settings.SEARCH_DEFAULT_K, self.max_k)
        if asked > self.max_k:
            names = {"asked": asked, "max_k": self.max_k, "kind": self.kind_label}
            if self.max_k < self.floor_max_k:
                message = _("k %(asked)s is above the limit of %(max_k)s matches your organisation set; "
                            "ask for %(max_k)s or fewer.")
            else:
                message = _("k %(asked)s is above the limit of %(max_k)s matches the platform set for %(kind)s "
                            "tenants; ask for %(max_k)s or fewer.")
            raise LimitInvalid(message % names, field="k")
        return asked


def floors() -> dict[str, tuple[float, int]]:
    """{kind: (min_threshold, max_k)} for every kind of tenant."""
    stored = {floor.kind: (floor.min_threshold, floor.max_k) for floor in SearchFloor.objects.all()}
    return {kind: stored.get(kind, FLOOR_DEFAULTS[kind]) for kind in Tenant.Kind.values}


def search_limits(*, tenant: Tenant) -> SearchLimits:
    floor_threshold, floor_max_k = floors()[tenant.kind]
    return SearchLimits(
        min_threshold=max(floor_threshold, tenant.search_min_threshold or 0.0),
        max_k=min(floor_max_k, tenant.search_max_k or floor_max_k),
        floor_threshold=floor_threshold, floor_max_k=floor_max_k,
        kind_label=Tenant.Kind(tenant.kind).label.lower())


def floor_set(*, kind: str, min_threshold: float, max_k: int, actor: Actor) -> SearchFloor:
    """The platform's floor for a kind of tenant; audited in the platform's chain. Tenants'
    stricter values of their own stay; looser ones stop counting (the stricter one applies)."""
    if kind not in Tenant.Kind.values:
        raise LimitInvalid(_("Unknown kind of tenant %(kind)s.") % {"kind": repr(kind)}, field="kind")
    low, high = FLOOR_THRESHOLD_RANGE
    if not low <= min_threshold <= high:
        raise LimitInvalid(_("A floor threshold is between %(low)s and %(high)s.") % {"low": low, "high": high}, field="min_threshold")
    if not 1 <= max_k <= settings.SEARCH_MAX_K:
        raise LimitInvalid(_("The most matches is between 1 and %(max_k)s.") % {"max_k": settings.SEARCH_MAX_K}, field="max_k")
    with dangerously_unscoped(reason="the platform's search floors"):
        before = floors()[kind]
        floor, _created = SearchFloor.objects.update_or_create(kind=kind, defaults={"min_threshold": min_threshold,
                                                                              "max_k": max_k})
        audit_record(action="search.floor_set", actor=actor, target_type="search_floor", target_id=kind,
                     details={"min_threshold": [before[0], min_threshold], "max_k": [before[1], max_k]})
    return floor


def tenant_search_limits_set(*, tenant: Tenant, min_threshold: float | None, max_k: int | None,
                             actor: Actor) -> Tenant:
    """A tenant's own limits, stricter than its floor or none (None); audited."""
    floor_threshold, floor_max_k = floors()[tenant.kind]
    if min_threshold is not None and not floor_threshold <= min_threshold <= 1.0:
        raise LimitInvalid(_("Your threshold can be stricter than the platform's floor (%(floor_threshold)s), not looser: between %(floor_threshold)s and 1.") % {"floor_threshold": format(floor_threshold, 'g')}, field="search_min_threshold")
    if max_k is not None and not 1 <= max_k <= floor_max_k:
        raise LimitInvalid(_("Your limit can be lower than the platform's (%(floor_max_k)s), not higher: between 1 and %(floor_max_k)s.") % {"floor_max_k": floor_max_k}, field="search_max_k")
    changes = {name: [getattr(tenant, name), value]
               for name, value in (("search_min_threshold", min_threshold), ("search_max_k", max_k))
               if getattr(tenant, name) != value}
    if not changes:
        return tenant
    with tenant_scope(tenant):
        tenant.search_min_threshold, tenant.search_max_k = min_threshold, max_k
        tenant.save(update_fields=["search_min_threshold", "search_max_k"])
        audit_record(action="tenant.search_limits_update", actor=actor, tenant=tenant, target_type="tenant",
                     target_id=tenant.slug, details=changes)
    return tenant

"""Reading orders and opt-outs (platform code: orders span tenants)."""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from portal.compliance import coverage
from portal.compliance.home_regions import tenants_blocked_unknown_region
from portal.compliance.models import OptOut, OrderTenantProgress, RegulatoryOrder
from tenants.context import dangerously_unscoped
from tenants.models import Tenant


def orders_list(*, status: str | None = None, kind: str | None = None):
    orders = RegulatoryOrder.objects.select_related("created_by").order_by("-created_at", "-id")
    if status:
        orders = orders.filter(status=status)
    if kind:
        orders = orders.filter(kind=kind)
    return orders


def order_get(*, order_id: int) -> RegulatoryOrder:
    return RegulatoryOrder.objects.select_related("created_by", "opt_out").get(pk=order_id)


def _gallery_label(tenant_id, tenants) -> str:
    if tenant_id is None:
        return "Platform index"
    tenant = tenants.get(tenant_id)
    return f"{tenant.name} ({tenant.slug})" if tenant else f"tenant {tenant_id}"


def order_preview(*, order: RegulatoryOrder) -> dict:
    """What the order covers now, per gallery, with totals; and the tenants it would stop from
    ingesting pictures of unknown region (filed under a home country it covers)."""
    return _coverage_preview(order)


def opt_out_preview(*, opt_out: OptOut) -> dict:
    """What confirming the opt-out would erase now: the coverage of the subject order that
    opt_out_confirm files, computed from the opt-out's templates without filing anything. The
    unsaved order names the opt-out by id: `opt_out=` would cache it as the opt-out's own order."""
    scope_all = opt_out.channel == OptOut.Channel.OPERATOR  # as opt_outs.opt_out_scope
    return _coverage_preview(RegulatoryOrder(kind=RegulatoryOrder.Kind.SUBJECT, scope_all=scope_all,
                                             scope_platform_index=True, match_threshold=opt_out.match_threshold,
                                             opt_out_id=opt_out.pk))


def _coverage_preview(order: RegulatoryOrder) -> dict:
    with dangerously_unscoped(reason="previewing an order across tenants"):
        counts = coverage.coverage_count(order=order)
    tenants = Tenant.objects.in_bulk([t for t in counts if t is not None])
    rows = sorted(({"gallery": _gallery_label(t, tenants), "tenant_id": t, **c} for t, c in counts.items()),
                  key=lambda row: (row["tenant_id"] is None, row["gallery"]))
    blocked = [{"tenant_id": t.pk, "slug": t.slug, "name": t.name, "home_country": t.home_country}
               for t in tenants_blocked_unknown_region(order=order)]
    return {"rows": rows, "totals": coverage.coverage_totals(counts), "blocked_unknown_region": blocked}


def order_progress(*, order: RegulatoryOrder) -> list[dict]:
    with dangerously_unscoped(reason="order progress across tenants"):
        progress = list(OrderTenantProgress.objects.filter(order=order))
    tenants = Tenant.objects.in_bulk([p.tenant_id for p in progress if p.tenant_id])
    return sorted(({"gallery": _gallery_label(p.tenant_id, tenants), "tenant_id": p.tenant_id,
                    "covered": p.covered, "deleted": p.deleted} for p in progress),
                  key=lambda row: (row["tenant_id"] is None, row["gallery"]))


def opt_outs_list(*, status: str | None = None):
    opt_outs = OptOut.objects.annotate(pictures=Count("embeddings")).select_related("order").order_by("-created_at")
    return opt_outs.filter(status=status) if status else opt_outs


def opt_out_get(*, opt_out_id: int) -> OptOut:
    return OptOut.objects.select_related("order", "created_by").get(pk=opt_out_id)


def orders_by_status() -> list[tuple[str, str, int]]:
    counts = dict(RegulatoryOrder.objects.values_list("status").annotate(n=Count("id")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in RegulatoryOrder.Status.choices]


def orders_due(*, limit: int = 10) -> list[dict]:
    today = timezone.localdate()
    due = RegulatoryOrder.objects.exclude(status=RegulatoryOrder.Status.VERIFIED).order_by("deadline")[:limit]
    rows = []
    for order in due:
        days_left = (order.deadline - today).days
        # The bar fills as the deadline nears: empty 90 days out, full on the day.
        rows.append({"order": order, "days_left": days_left, "days_overdue": max(0, -days_left),
                     "urgency_percent": max(4, min(100, round(100 - days_left * 100 / 90)))})
    return rows

"""Reading the audit chain: one selector for the tenant portal, the REST API and the platform area."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from portal.audit.models import AuditEvent
from tenants.models import Tenant


def audit_events_list(*, tenant: Tenant | None = None, platform_only: bool = False, action: str = "",
                      action_prefix: str = "", actor: str = "", created_from: datetime | None = None,
                      created_to: datetime | None = None) -> QuerySet[AuditEvent]:
    """Events newest first. With `tenant`, that tenant's events; without, every tenant's and the
    platform's (platform code, iterated inside dangerously_unscoped()), or with `platform_only`
    the platform's alone. Times are a half-open range: from <= created_at < to (portal.dates turns
    a day "to" into the first instant after it)."""
    events = AuditEvent.objects.select_related("tenant").order_by("-seq")
    if tenant is not None:
        events = events.filter(tenant=tenant).order_by("-position")
    elif platform_only:
        events = events.filter(tenant__isnull=True)
    if action:
        events = events.filter(action=action)
    if action_prefix:
        events = events.filter(action__startswith=action_prefix)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if created_from is not None:
        events = events.filter(created_at__gte=created_from)
    if created_to is not None:
        events = events.filter(created_at__lt=created_to)
    return events


def audit_actions(*, tenant: Tenant | None = None) -> list[str]:
    """The actions recorded (for a tenant, or across the platform when unscoped), for filter choices."""
    events = AuditEvent.objects.order_by()
    if tenant is not None:
        events = events.filter(tenant=tenant)
    return list(events.values_list("action", flat=True).distinct().order_by("action"))

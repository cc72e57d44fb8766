"""The tenant's audit log (auditors, owners and admins)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.audit.selectors import audit_actions, audit_events_list
from portal.dates import day_end, day_start
from portal.web import forms
from portal.web.views.common import filters_query, page_of
from tenants.middleware import membership_required


@membership_required(allowed="can_audit")
@require_GET
def audit_log(request, tenant_slug):
    tenant = request.tenant
    form = forms.AuditFilterForm(request.GET or None, actions=audit_actions(tenant=tenant))
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events_list(
        tenant=tenant, action=filters.get("action") or "", actor=filters.get("actor") or "",
        created_from=day_start(filters["created_from"]) if filters.get("created_from") else None,
        created_to=day_end(filters["created_to"]) if filters.get("created_to") else None)
    return render(request, "portal/audit_log.html", {
        "form": form, "page": page_of(request, events), "filters_query": filters_query(request),
        "filtered": bool(filters and any(filters.values())),
    })

"""The tenant's audit log (auditors, owners and admins)."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from portal.audit.heads import audit_chain_head_check, audit_chain_head_sign
from portal.audit.selectors import audit_actions, audit_events_list
from portal.audit.services import Actor, audit_chain_verify, audit_record
from portal.dates import day_end, day_start
from portal.signatures import SignatureInvalid
from portal.web import forms
from portal.web.views.common import filters_query, page_of
from tenants.middleware import membership_required


@membership_required(allowed="can_audit")
@require_GET
def audit_log(request, tenant_slug):
    return _audit_page(request, verification=None)


@membership_required(allowed="can_audit")
@require_POST
def audit_verify(request, tenant_slug):
    """Recomputes the tenant's own chain, as `manage.py audit_verify --tenant` does, shows the
    result and records that it was checked (after the check, so it does not verify itself)."""
    [verification] = audit_chain_verify(tenant=request.tenant)
    audit_record(action="audit.chain_verified", tenant=request.tenant,
                 actor=Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR")),
                 details={"intact": verification.intact, "events": verification.events,
                          "first_broken_position": verification.first_broken_position})
    return _audit_page(request, verification=verification)


@membership_required(allowed="can_audit")
@require_GET
def audit_signed_head(request, tenant_slug):
    """A signed statement of the tenant's chain head now, to keep: proof of what the chain held."""
    response = HttpResponse(audit_chain_head_sign(tenant=request.tenant), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="audit-head-{request.tenant.slug}.signed.json"'
    return response


@membership_required(allowed="can_audit")
@require_POST
def audit_signed_head_check(request, tenant_slug):
    """Checks a signed head the tenant kept against its chain as it is now (in its own scope)."""
    form = forms.SignedHeadCheckForm(request.POST, request.FILES)
    head_check, head_error = None, ""
    if form.is_valid():
        try:
            head_check = audit_chain_head_check(tenant=request.tenant, data=form.cleaned_data["kept"])
        except SignatureInvalid as invalid:
            head_error = str(invalid)
        audit_record(action="audit.signed_head_checked", tenant=request.tenant,
                     actor=Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR")),
                     details={"genuine": head_check is not None, "holds": bool(head_check and head_check.ok)})
    return _audit_page(request, verification=None, head_form=form, head_check=head_check, head_error=head_error)


def _audit_page(request, *, verification, head_form=None, head_check=None, head_error=""):
    tenant = request.tenant
    form = forms.AuditFilterForm(request.GET or None, actions=audit_actions(tenant=tenant))
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events_list(
        tenant=tenant, action=filters.get("action") or "", actor=filters.get("actor") or "",
        created_from=day_start(filters["created_from"]) if filters.get("created_from") else None,
        created_to=day_end(filters["created_to"]) if filters.get("created_to") else None)
    return render(request, "portal/audit_log.html", {
        "form": form, "page": page_of(request, events), "filters_query": filters_query(request),
        "filtered": bool(filters and any(filters.values())), "verification": verification,
        "head_form": head_form or forms.SignedHeadCheckForm(), "head_check": head_check, "head_error": head_error,
    })

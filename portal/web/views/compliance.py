"""The tenant's compliance page: what its legal duties need it to see and act on."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.search.authorisations import URGENT_HOURS, authorisation_overview
from tenants.middleware import membership_required


@membership_required(allowed="can_audit")
@require_GET
def compliance(request, tenant_slug):
    """Urgent searches awaiting their authorisation, and those deleted without one (EU AI Act
    Art. 26(10)); for owners and auditors."""
    return render(request, "portal/compliance.html", {
        **authorisation_overview(tenant=request.tenant), "now": timezone.now(), "urgent_hours": URGENT_HOURS,
    })

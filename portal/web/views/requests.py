"""The tenant's inbox of data subjects' requests forwarded by the operator: each one's deadline,
the faces concerned, and the tenant's decision (comply, or refuse with a legal ground). Another
tenant's request, like an absent one, is a 404 for every method."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.compliance import tasks as compliance_tasks
from portal.errors import DomainError, form_error_add
from portal.platform.request_forms import TenantDecisionForm
from portal.rights.decisions import forwarded_decide, forwarded_get
from portal.rights.models import ERASING_KINDS, ForwardedRequest
from portal.rights.selectors import inbox_list
from portal.rights.services import RequestNotFound
from portal.web.views.common import actor_of
from tenants.middleware import membership_required


def _enforcement_enqueue(order) -> None:
    # After the request's transaction commits, or the worker might not see the decision yet.
    transaction.on_commit(lambda: compliance_tasks.order_enforce.delay(order.pk))


@membership_required(allowed="can_manage")
@require_GET
def inbox(request, tenant_slug):
    return render(request, "portal/requests.html", {"rows": inbox_list(tenant=request.tenant)})


def _decide(request, row: ForwardedRequest, form: TenantDecisionForm) -> bool:
    data, comply = form.cleaned_data, form.cleaned_data["decision"] == "comply"
    if comply and row.kind in ERASING_KINDS and data["confirm_reference"].strip().upper() != row.reference:
        form.add_error("confirm_reference", _("Type the reference %(reference)s to confirm the erasure.")
                       % {"reference": row.reference})
        return False
    try:
        _row, order = forwarded_decide(tenant=request.tenant, public_id=row.public_id, actor=actor_of(request),
                                       comply=comply, ground=data["ground"], reasoning=data["reasoning"])
    except DomainError as error:
        form_error_add(form, error)
        return False
    if order is not None:
        _enforcement_enqueue(order)
    messages.success(request, _("Decision recorded; the operator and the requester see it."))
    return True


@membership_required(allowed="can_manage")
def forwarded_detail(request, tenant_slug, request_id):
    try:
        row = forwarded_get(tenant=request.tenant, public_id=request_id)
    except RequestNotFound:
        raise Http404 from None  # before the method: another tenant's request is absent for every method
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = TenantDecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _decide(request, row, form):
        return redirect("requests_inbox", tenant_slug=request.tenant.slug)
    return render(request, "portal/request_detail.html", {"row": row, "form": form,
                                                          "erasing": row.kind in ERASING_KINDS})

"""Recall notices (GDPR Art. 19): faces this tenant received that were erased or restricted since."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.errors import DomainError
from portal.search.models import RecallNotice
from portal.search.recalls import recall_notice_acknowledge, recall_notice_get, recall_notices_list
from portal.web.views.common import actor_of
from tenants.middleware import membership_required


@membership_required(allowed="can_read_notices")
@require_GET
def notices(request, tenant_slug):
    return render(request, "portal/notices.html", {"notices": recall_notices_list(tenant=request.tenant)})


@membership_required(allowed="can_read_notices")
@require_POST
def notice_acknowledge(request, tenant_slug, notice_id):
    try:
        notice = recall_notice_get(tenant=request.tenant, public_id=notice_id)
    except RecallNotice.DoesNotExist:
        raise Http404 from None
    try:
        recall_notice_acknowledge(tenant=request.tenant, notice=notice, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Notice acknowledged. Remove the faces it names from the case files listed."))
    return redirect("notices", tenant_slug=request.tenant.slug)

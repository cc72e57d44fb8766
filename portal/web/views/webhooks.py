"""Webhooks (owners only): endpoints, the delivery log and replays (docs/api.md, "Webhooks")."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import DomainError, form_error_add
from portal.web import forms
from portal.web.views.common import actor_of
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from portal.webhooks.selectors import (webhook_deliveries_list, webhook_delivery_get, webhook_endpoint_get,
                                       webhook_endpoints_list)
from portal.webhooks.services import webhook_delivery_replay, webhook_endpoint_create, webhook_endpoint_disable
from tenants.middleware import membership_required


@never_cache  # shows a new secret once: no cache may keep it
@membership_required(allowed="is_owner")
@require_http_methods(["GET", "POST"])
def webhooks(request, tenant_slug):
    tenant = request.tenant
    form = forms.WebhookEndpointForm(request.POST or None)
    context = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = webhook_endpoint_create(tenant=tenant, url=form.cleaned_data["url"],
                                                       events=form.cleaned_data["events"], actor=actor_of(request))
        except DomainError as error:
            form_error_add(form, error)
            status = 400
        else:
            # The secret is in this response only.
            context = {"form": forms.WebhookEndpointForm(), "new_endpoint": endpoint, "secret": secret}
    elif request.method == "POST":
        status = 400
    context["endpoints"] = webhook_endpoints_list(tenant=tenant)
    context["deliveries"] = webhook_deliveries_list(tenant=tenant)
    return render(request, "portal/webhooks.html", context, status=status)


@membership_required(allowed="is_owner")
@require_POST
def webhook_disable(request, tenant_slug, endpoint_id):
    try:
        endpoint = webhook_endpoint_get(tenant=request.tenant, public_id=endpoint_id)
    except WebhookEndpoint.DoesNotExist:
        raise Http404 from None
    webhook_endpoint_disable(tenant=request.tenant, endpoint=endpoint, actor=actor_of(request))
    messages.success(request, _("Deliveries to %(url)s have stopped for good.") % {"url": endpoint.url})
    return redirect("webhooks", tenant_slug=request.tenant.slug)


@membership_required(allowed="is_owner")
@require_POST
def webhook_replay(request, tenant_slug, delivery_id):
    try:
        delivery = webhook_delivery_get(tenant=request.tenant, public_id=delivery_id)
    except WebhookDelivery.DoesNotExist:
        raise Http404 from None
    try:
        webhook_delivery_replay(tenant=request.tenant, delivery=delivery, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Event %(event)s is queued again for %(url)s.")
                         % {"event": delivery.event_type, "url": delivery.endpoint.url})
    return redirect("webhooks", tenant_slug=request.tenant.slug)

"""The platform admin area (/platform/, staff with a verified TOTP device); data subjects'
requests and the public request page are in request_views.py. Views parse input, call one
service or selector, and render."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.audit.selectors import audit_events_list
from portal.audit.services import Actor
from portal.compliance import opt_outs as opt_out_services
from portal.compliance import orders as order_services
from portal.compliance import selectors as compliance_selectors
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance import tasks as compliance_tasks
from portal.dates import day_end, day_start
from portal.errors import DomainError, form_error_add
from portal.platform import charts, selectors, services, two_factor
from portal.platform.forms import (AuditFilterForm, EnrolmentCodeForm, OptOutForm, OrderForm, TenantCreateForm,
                                   TenantEntitlementsForm,
                                   TokenForm, VerifyForm)
from portal.search.recalls import recall_notices_of_order
from tenants.context import dangerously_unscoped
from tenants.models import Tenant


def _actor(request) -> Actor:
    return Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))


def _staff_or_404(request) -> None:
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise Http404  # the platform area does not confirm it exists to anyone else


def platform_view(view):
    """Staff only (others 404), and a TOTP token verified in this session (enrol first if needed)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        _staff_or_404(request)
        if not request.user.is_verified():
            if two_factor.totp_confirmed(user=request.user):
                return redirect(f"{reverse('platform_2fa_verify')}?{urlencode({'next': request.get_full_path()})}")
            return redirect("platform_2fa_enrol")
        return view(request, *args, **kwargs)

    return wrapped


def _enforcement_enqueue(order: RegulatoryOrder) -> None:
    # After the request's transaction commits, or the worker might not see the activation yet.
    transaction.on_commit(lambda: compliance_tasks.order_enforce.delay(order.pk))


def _get_or_404(selector, **kwargs):
    try:
        return selector(**kwargs)
    except (RegulatoryOrder.DoesNotExist, OptOut.DoesNotExist, Tenant.DoesNotExist):
        raise Http404 from None


# -- two-factor -------------------------------------------------------------------------------

@never_cache  # the QR code is the TOTP secret
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    _staff_or_404(request)
    if two_factor.totp_confirmed(user=request.user):
        return redirect("platform_2fa_verify")
    if two_factor.enrolment_code_pending(request=request) is None:
        # First the one-time enrolment code from another operator; no device exists before it.
        code_form = EnrolmentCodeForm(request.POST or None)
        if request.method == "POST" and code_form.is_valid():
            if two_factor.enrolment_code_accept(request=request, code=code_form.cleaned_data["enrolment_code"]):
                return redirect("platform_2fa_enrol")
            code_form.add_error("enrolment_code", _("That code is not valid, was used, or has expired; ask another "
                                                  "operator for a new one."))
        return render(request, "platform/two_factor_enrol.html", {"code_form": code_form})
    device = two_factor.totp_device_pending(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.totp_enrol_confirm(request=request, device=device, token=form.cleaned_data["token"]):
            messages.success(request, _("Two-factor log-in is set up."))
            return _backup_codes_page(request, codes=two_factor.backup_codes_issue(user=request.user,
                                                                                   actor=_actor(request)))
        form.add_error("token", _("That code does not match; check the time on your phone and try the next code."))
    return render(request, "platform/two_factor_enrol.html", {
        "form": form, "otpauth_uri": device.config_url, "qr_svg": two_factor.qr_svg(data=device.config_url)})


@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    _staff_or_404(request)
    if not two_factor.totp_confirmed(user=request.user):
        return redirect("platform_2fa_enrol")
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("platform_dashboard")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}) or not next_url.startswith("/platform/"):
        next_url = reverse("platform_dashboard")
    form = VerifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.two_factor_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(next_url)
        form.add_error("token", _("That code is not valid."))
    return render(request, "platform/two_factor_verify.html", {"form": form, "next": next_url})


def _backup_codes_page(request, *, codes: list[str]):
    response = render(request, "platform/two_factor_backup_codes.html", {"codes": codes})
    add_never_cache_headers(response)  # the codes are shown once, and never from a cache
    return response


@platform_view
@require_http_methods(["GET", "POST"])
def two_factor_backup_codes(request):
    """How many backup codes are left; POST issues new ones (the old ones stop working)."""
    if request.method == "POST":
        return _backup_codes_page(request, codes=two_factor.backup_codes_issue(user=request.user,
                                                                               actor=_actor(request)))
    return render(request, "platform/two_factor_backup_codes.html",
                  {"codes_left": two_factor.backup_codes_left(user=request.user)})


@never_cache  # may show an enrolment code once
@platform_view
@require_http_methods(["GET", "POST"])
def operators(request):
    """The operators, whether each has two-factor log-in, and enrolment codes for those who do not."""
    context = {"operators": selectors.operators_list()}
    if request.method == "POST":
        try:
            user = selectors.operator_get(user_id=int(request.POST.get("user_id", "0")))
            context["issued"] = {"user": user, "code": two_factor.enrolment_code_issue(
                user=user, actor=_actor(request), issued_by=request.user)}
        except (ValueError, LookupError):
            raise Http404 from None
        except DomainError as error:
            messages.error(request, error.message)
            return redirect("platform_operators")
    return render(request, "platform/operators.html", context)


# -- dashboard --------------------------------------------------------------------------------

@platform_view
def dashboard(request):
    regions = selectors.faces_by_region()
    statuses = compliance_selectors.orders_by_status()
    return render(request, "platform/dashboard.html", {
        "counts": selectors.platform_counts(),
        "regions_chart": charts.bar_chart_svg(rows=regions, title=_("Searchable faces by region")),
        "status_chart": charts.bar_chart_svg(rows=[(label.split(" (")[0], n) for _, label, n in statuses],
                                             title=_("Orders by status"), colour="#1b7f4b"),
        "orders_due": compliance_selectors.orders_due(),
    })


# -- tenants ----------------------------------------------------------------------------------

@platform_view
@require_http_methods(["GET", "POST"])
def tenants(request):
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tenant = services.platform_tenant_create(actor=_actor(request), **form.cleaned_data)
        except ValidationError as error:  # tenant_create's full_clean: duplicate slug and the like
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Tenant %(name)s created.") % {"name": tenant.name})
            return redirect("platform_tenant", tenant_id=tenant.pk)
    return render(request, "platform/tenants.html", {"tenants": selectors.tenants_list(), "form": form})


@platform_view
@require_http_methods(["GET", "POST"])
def tenant_detail(request, tenant_id):
    tenant = _get_or_404(selectors.tenant_get, tenant_id=tenant_id)
    form = TenantEntitlementsForm(request.POST or None, initial={
        "may_search_platform_index": tenant.may_search_platform_index,
        "case_reference_required": tenant.case_reference_required,
        "probe_retention_days": tenant.probe_retention_days})
    if request.method == "POST":
        action = request.POST.get("action")
        if action in {"suspend", "reactivate"}:
            status = Tenant.Status.SUSPENDED if action == "suspend" else Tenant.Status.ACTIVE
            services.platform_tenant_update(actor=_actor(request), tenant=tenant, status=status)
            messages.success(request, _("%(name)s is %(status)s.") % {"name": tenant.name, "status": tenant.get_status_display().lower()})
            return redirect("platform_tenant", tenant_id=tenant.pk)
        if form.is_valid():
            services.platform_tenant_update(actor=_actor(request), tenant=tenant, **form.cleaned_data)
            messages.success(request, _("Entitlements saved."))
            return redirect("platform_tenant", tenant_id=tenant.pk)
    return render(request, "platform/tenant_detail.html", {"tenant": tenant, "form": form})


# -- orders -----------------------------------------------------------------------------------

@platform_view
def orders(request):
    status = request.GET.get("status") or None
    return render(request, "platform/orders.html", {
        "orders": compliance_selectors.orders_list(status=status), "status": status,
        "statuses": RegulatoryOrder.Status.choices})


@platform_view
@require_http_methods(["GET", "POST"])
def order_new(request):
    form = OrderForm(request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind")})
    if request.method == "POST" and form.is_valid():
        try:
            order = order_services.order_create(actor=_actor(request), **form.service_arguments())
        except DomainError as error:
            form_error_add(form, error)
        else:
            messages.success(request, _("Order filed as a draft. Check the preview, then activate it."))
            return redirect("platform_order", order_id=order.pk)
    return render(request, "platform/order_new.html", {"form": form})


@platform_view
def order_detail(request, order_id):
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    context = {"order": order, "progress": compliance_selectors.order_progress(order=order)}
    if order.status == RegulatoryOrder.Status.DRAFT:
        context["preview"] = compliance_selectors.order_preview(order=order)
    if order.offboard_tenant_ids or order.scope_tenant_ids:
        context["scope_tenants"] = Tenant.objects.filter(pk__in=[*order.offboard_tenant_ids, *order.scope_tenant_ids])
    return render(request, "platform/order_detail.html", context)


@platform_view
def order_progress(request, order_id):
    """The live progress fragment, polled by htmx while the order executes."""
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    return render(request, "platform/_order_progress.html",
                  {"order": order, "progress": compliance_selectors.order_progress(order=order)})


@platform_view
@require_POST
def order_activate(request, order_id):
    """Irreversible across every tenant: the operator types the order's reference to confirm."""
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    if request.POST.get("confirm_reference", "").strip() != order.reference:
        messages.error(request, _("Not activated: type the order's reference, %(reference)s, to confirm.") % {"reference": order.reference})
        return redirect("platform_order", order_id=order.pk)
    try:
        order = order_services.order_activate(order=order, actor=_actor(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        _enforcement_enqueue(order)
        messages.success(request, _("The order is in force: everything it covers is withheld at once. Deletion runs in "
                                    "the background; its state is shown below."))
    return redirect("platform_order", order_id=order.pk)


@platform_view
@require_POST
def order_enforce(request, order_id):
    """Restarts enforcement (e.g. after a worker outage); the task resumes where it stopped."""
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    if order.status == RegulatoryOrder.Status.DRAFT:
        messages.error(request, _("Activate the order first."))
    else:
        _enforcement_enqueue(order)
        messages.success(request, _("Enforcement queued."))
    return redirect("platform_order", order_id=order.pk)


@platform_view
@require_POST
def order_withdraw(request, order_id):
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    try:
        order_services.order_delete_draft(order=order, actor=_actor(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("platform_order", order_id=order.pk)
    messages.success(request, _("Draft withdrawn."))
    return redirect("platform_orders")


@platform_view
def order_certificate(request, order_id):
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    if not order.certificate:
        raise Http404
    with dangerously_unscoped(reason="the order's recall notices, across tenants"):
        recall_now = recall_notices_of_order(order_id=order.pk)
    return render(request, "platform/certificate.html", {"order": order, "certificate": order.certificate,
                                                         "recall_now": recall_now})


@platform_view
def order_certificate_json(request, order_id):
    order = _get_or_404(compliance_selectors.order_get, order_id=order_id)
    if not order.certificate:
        raise Http404
    response = JsonResponse(order.certificate, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="certificate-{order.reference}.json"'
    return response


# -- opt-outs ---------------------------------------------------------------------------------

@platform_view
@require_http_methods(["GET", "POST"])
def opt_outs(request):
    form = OptOutForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opt_out = opt_out_services.opt_out_create(
                pictures=data["pictures"], contact=data["contact"], consent=data["consent"], region=data["region"],
                full_name=data["full_name"], notes=data["notes"], channel=OptOut.Channel.OPERATOR,
                actor=_actor(request))
            order = opt_out_services.opt_out_confirm(opt_out=opt_out, actor=_actor(request))
        except DomainError as error:
            form_error_add(form, error)
        else:
            _enforcement_enqueue(order)
            messages.success(request, _("Opt-out recorded; the person's pictures are withheld and being erased."))
            return redirect("platform_opt_out", opt_out_id=opt_out.pk)
    return render(request, "platform/opt_outs.html", {"opt_outs": compliance_selectors.opt_outs_list(), "form": form})


@platform_view
@require_http_methods(["GET", "POST"])
def opt_out_detail(request, opt_out_id):
    opt_out = _get_or_404(compliance_selectors.opt_out_get, opt_out_id=opt_out_id)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                reference = opt_out_services.opt_out_order_reference(opt_out)
                # Erasure cannot be undone: the operator types the reference of the order it files.
                if request.POST.get("confirm_reference", "").strip().upper() != reference:
                    messages.error(request, _("Not confirmed: type the reference %(reference)s to confirm the "
                                              "erasure.") % {"reference": reference})
                    return redirect("platform_opt_out", opt_out_id=opt_out.pk)
                _enforcement_enqueue(opt_out_services.opt_out_confirm(opt_out=opt_out, actor=_actor(request)))
                messages.success(request, _("Confirmed: the erasure order is in force. Deletion runs in the background; its "
                                            "state is shown on the order."))
            elif request.POST.get("action") == "reject":
                opt_out_services.opt_out_reject(opt_out=opt_out, actor=_actor(request),
                                        reason=request.POST.get("reason", "").strip() or "not given")
                messages.success(request, _("Rejected; the suppression template was deleted."))
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("platform_opt_out", opt_out_id=opt_out.pk)
    context = {"opt_out": opt_out}
    if opt_out.status == OptOut.Status.RECEIVED:
        context["preview"] = compliance_selectors.opt_out_preview(opt_out=opt_out)
        context["order_reference"] = opt_out_services.opt_out_order_reference(opt_out)
    return render(request, "platform/opt_out_detail.html", context)


# -- audit explorer ---------------------------------------------------------------------------

@platform_view
def audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    with dangerously_unscoped(reason="platform audit explorer reads every tenant's events"):
        events = audit_events_list(
            tenant=filters.get("tenant"), platform_only=filters.get("platform_only", False),
            action_prefix=filters.get("action", ""), actor=filters.get("actor", ""),
            created_from=day_start(filters["created_from"]) if filters.get("created_from") else None,
            created_to=day_end(filters["created_to"]) if filters.get("created_to") else None)
        page = Paginator(events, 50).get_page(request.GET.get("page"))
        page_events = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "platform/audit.html", {"form": form, "page": page, "events": page_events,
                                                   "query": query.urlencode()})

"""The tenant's administration: members and roles, API keys, settings (owners and admins)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_http_methods

from portal.api.models import ApiKey
from portal.api.selectors import api_key_get, api_keys_list
from portal.api.services import api_key_create, api_key_revoke
from portal.errors import DomainError, form_error_add
from portal.search.floors import search_limits, tenant_search_limits_set
from portal.web import forms
from portal.web.accounts.lockouts import member_lockouts
from portal.web.accounts.lockouts import member_unlock as lockouts_member_unlock
from portal.web.views.common import actor_of
from tenants import services as tenant_services
from tenants.middleware import membership_required
from tenants.models import Invitation, Membership
from tenants.selectors import invitation_get, invitations_pending, membership_get, tenant_members


@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def members(request, tenant_slug):
    tenant = request.tenant
    form = forms.MemberInviteForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            invitation = tenant_services.member_invite(
                tenant=tenant, by=request.membership, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], actor=actor_of(request),
                accept_url=lambda token: request.build_absolute_uri(reverse("invitation_accept", args=[token])))
        except DomainError as error:
            form_error_add(form, error)
            status = 400
        else:
            # The same answer whether the address has an account or not.
            messages.success(request, _("An invitation to join as %(role)s was sent to %(email)s. It is valid for %(days)s days.") % {"role": invitation.get_role_display().lower(), "email": invitation.email, "days": tenant_services.INVITATION_DAYS})
            return redirect("members", tenant_slug=tenant.slug)
    elif request.method == "POST":
        status = 400
    memberships = list(tenant_members(tenant=tenant))
    lockouts = member_lockouts(memberships=memberships)
    for membership in memberships:
        membership.lockout = lockouts.get(membership.pk)
    return render(request, "portal/members.html", {
        "form": form, "memberships": memberships, "roles": Membership.Role.choices,
        "invitations": invitations_pending(tenant=tenant),
    }, status=status)


@membership_required(allowed="can_manage")
@require_POST
def invitation_revoke(request, tenant_slug, invitation_id):
    try:
        invitation = invitation_get(tenant=request.tenant, public_id=invitation_id)
    except Invitation.DoesNotExist:
        raise Http404 from None
    tenant_services.invitation_revoke(tenant=request.tenant, invitation=invitation, actor=actor_of(request))
    messages.success(request, _("The invitation of %(email)s is revoked: its link no longer works.") % {"email": invitation.email})
    return redirect("members", tenant_slug=request.tenant.slug)


def _membership_or_404(request, membership_id) -> Membership:
    try:
        return membership_get(tenant=request.tenant, public_id=membership_id)
    except Membership.DoesNotExist:
        raise Http404 from None


@membership_required(allowed="can_manage")
@require_POST
def member_role(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    form = forms.MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
    else:
        try:
            tenant_services.member_role_change(tenant=request.tenant, by=request.membership, membership=membership,
                                            role=form.cleaned_data["role"], actor=actor_of(request))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(email)s is now %(role)s.") % {"email": membership.user.email, "role": membership.get_role_display().lower()})
    if membership.user_id == request.user.id and not membership.can_manage:
        # They just gave up managing: the members page would answer 403.
        return redirect("tenant_dashboard", tenant_slug=request.tenant.slug)
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_POST
def member_unlock(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    lockouts_member_unlock(tenant=request.tenant, membership=membership, actor=actor_of(request))
    messages.success(request, _("%(email)s may log in again.") % {"email": membership.user.email})
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_POST
def member_review(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    may_review = request.POST.get("may_review") == "on"
    try:
        tenant_services.member_review_set(tenant=request.tenant, by=request.membership, membership=membership,
                                          may_review=may_review, actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        done = _("%(email)s may now review matches.") if may_review else _("%(email)s may no longer review matches.")
        messages.success(request, done % {"email": membership.user.email})
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_POST
def member_remove(request, tenant_slug, membership_id):
    membership = _membership_or_404(request, membership_id)
    try:
        tenant_services.member_remove(tenant=request.tenant, by=request.membership, membership=membership,
                                   actor=actor_of(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("members", tenant_slug=request.tenant.slug)
    messages.success(request, _("%(email)s was removed from %(name)s.") % {"email": membership.user.email, "name": request.tenant.name})
    if membership.user_id == request.user.id:
        return redirect("home")
    return redirect("members", tenant_slug=request.tenant.slug)


@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def tenant_settings(request, tenant_slug):
    tenant = request.tenant
    initial = {"case_reference_required": tenant.case_reference_required,
               "probe_retention_days": tenant.probe_retention_days,
               "two_person_review": tenant.confirmations_required == 2,
               "two_factor_required": tenant.two_factor_mandatory,
               "search_min_threshold": tenant.search_min_threshold, "search_max_k": tenant.search_max_k}
    form = forms.TenantSettingsForm(request.POST or None, initial=initial)
    # Law enforcement: on, and not switchable (EU AI Act Art. 14(5)).
    form.fields["two_person_review"].disabled = tenant.kind == tenant.Kind.LAW_ENFORCEMENT
    # Whether every member needs two-factor log-in is the owner's decision, fixed for law enforcement.
    form.fields["two_factor_required"].disabled = (tenant.kind == tenant.Kind.LAW_ENFORCEMENT
                                                   or request.membership.role != Membership.Role.OWNER)
    limits = search_limits(tenant=tenant)
    form.fields["search_min_threshold"].widget.attrs["min"] = limits.floor_threshold
    form.fields["search_max_k"].widget.attrs["max"] = limits.floor_max_k
    if request.method == "POST" and form.is_valid():
        settings_given = dict(form.cleaned_data)
        limits_given = {name: settings_given.pop(name) for name in form.LIMIT_FIELDS}
        try:
            tenant_search_limits_set(tenant=tenant, actor=actor_of(request), min_threshold=limits_given[
                "search_min_threshold"], max_k=limits_given["search_max_k"])
            if form.fields["two_factor_required"].disabled:
                settings_given.pop("two_factor_required")
            tenant_services.tenant_settings_update(tenant=tenant, by=request.membership, actor=actor_of(request),
                                                   **settings_given)
        except DomainError as error:
            form_error_add(form, error)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("tenant_settings", tenant_slug=tenant.slug)
    return render(request, "portal/settings.html", {"form": form, "limits": limits},
                  status=400 if form.errors else 200)


@never_cache  # shows a new key once: no cache may keep it
@membership_required(allowed="can_manage")
@require_http_methods(["GET", "POST"])
def api_keys(request, tenant_slug):
    tenant = request.tenant
    form = forms.ApiKeyCreateForm(request.POST or None)
    context = {"form": form}
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw_key = api_key_create(tenant=tenant, name=form.cleaned_data["name"],
                                              scopes=form.cleaned_data["scopes"], actor=actor_of(request))
        except DomainError as error:
            form_error_add(form, error)
            status = 400
        else:
            # The raw key is in this response only; it is stored as a hash and never shown again.
            context = {"form": forms.ApiKeyCreateForm(), "new_key": api_key, "raw_key": raw_key}
    elif request.method == "POST":
        status = 400
    context["api_keys"] = api_keys_list(tenant=tenant)
    return render(request, "portal/api_keys.html", context, status=status)


@membership_required(allowed="can_manage")
@require_POST
def api_key_revoke_view(request, tenant_slug, api_key_id):
    try:
        api_key = api_key_get(tenant=request.tenant, public_id=api_key_id)
    except ApiKey.DoesNotExist:
        raise Http404 from None
    api_key_revoke(tenant=request.tenant, api_key=api_key, actor=actor_of(request))
    messages.success(request, _("The key “%(name)s” (%(prefix)s…) is revoked: it no longer works.") % {"name": api_key.name, "prefix": api_key.prefix})
    return redirect("api_keys", tenant_slug=request.tenant.slug)

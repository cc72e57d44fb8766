"""Accepting an invitation to a tenant, by the link in the e-mail (no tenant in scope yet).

Signed in as the invited address: a button to join. Signed out, with an account for it: sign in
first. Without an account: choose a name and password, which makes the account and joins."""

from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.errors import DomainError, form_error_add
from portal.web import forms
from portal.web.views.common import actor_of
from tenants import services as tenant_services
from tenants.models import User


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    try:
        invitation = tenant_services.invitation_by_token(token=token)
    except DomainError as error:
        return render(request, "portal/invitation.html", {"problem": error.message}, status=error.status)
    context = {"invitation": invitation}
    user = request.user
    if user.is_authenticated:
        if user.email.lower() != invitation.email:
            context["problem"] = _("You are signed in as %(email)s, but the invitation is for another address. "
                                   "Sign out and open the link again.") % {"email": user.email}
            return render(request, "portal/invitation.html", context, status=403)
        if request.method == "POST":
            tenant_services.invitation_accept(token=token, user=user, actor=actor_of(request))
            return redirect("tenant_dashboard", tenant_slug=invitation.tenant.slug)
        return render(request, "portal/invitation.html", context)
    if User.objects.filter(email=invitation.email).exists():
        # Only the holder of the link (the address's owner) learns that the account exists.
        return redirect_to_login(request.get_full_path())
    form = forms.InvitationAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            membership = tenant_services.invitation_accept_new_account(
                token=token, full_name=form.cleaned_data["full_name"], password=form.cleaned_data["password1"],
                ip_address=request.META.get("REMOTE_ADDR"))
        except DomainError as error:
            form_error_add(form, error)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("tenant_dashboard", tenant_slug=invitation.tenant.slug)
    context["form"] = form
    return render(request, "portal/invitation.html", context, status=400 if form.errors else 200)

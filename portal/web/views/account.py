"""The account page: a person's password, two-factor log-in and signed-in browsers, across their
tenants (no tenant in the URL). The gate (portal/web/accounts/gate.py) sends people here first
when a step is due."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import DomainError
from portal.web import forms
from portal.web.accounts import sessions as account_sessions
from portal.web.accounts import two_factor
from portal.web.views.common import actor_of
from tenants.models import UserSession


def _next_or(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@never_cache
@login_required
def account(request):
    current = account_sessions.session_current(request=request)
    has_device = two_factor.totp_confirmed(user=request.user)
    return render(request, "portal/account.html", {
        "sessions": account_sessions.sessions_of(user=request.user),
        "current_session": current,
        "has_two_factor": has_device,
        "backup_codes_left": two_factor.backup_codes_left(user=request.user) if has_device else 0,
        "two_factor_required": two_factor.two_factor_required_for(user=request.user),
        "remove_form": forms.TwoFactorCodeForm(),
    })


@login_required
@require_POST
def session_end(request, session_id):
    current = account_sessions.session_current(request=request)
    try:
        ended = account_sessions.session_end(user=request.user, public_id=session_id, actor=actor_of(request))
    except UserSession.DoesNotExist:
        raise Http404 from None  # another person's session, or none: the same answer
    if current is not None and ended.public_id == current.public_id:  # (a deleted row has no pk)
        logout(request)
        return redirect("login")
    messages.success(request, _("That browser is signed out."))
    return redirect("account")


@login_required
@require_POST
def sessions_end_others(request):
    ended = account_sessions.sessions_end_others(request=request, actor=actor_of(request))
    messages.success(request, _("Signed out of %(count)s other browsers.") % {"count": ended})
    return redirect("account")


@never_cache  # shows the secret and, once, the backup codes
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    if request.user.is_staff:
        return redirect("platform_2fa_enrol")  # operators enrol with an enrolment code
    if two_factor.totp_confirmed(user=request.user):
        return redirect("account")
    device = two_factor.totp_device_pending(user=request.user)
    form = forms.TwoFactorEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.two_factor_enrol(request=request, device=device, token=form.cleaned_data["token"])
        if codes is not None:
            return render(request, "portal/two_factor_backup_codes.html",
                          {"codes": codes, "next": _next_or(request, "/")})
        form.add_error("token", _("That code is not right. Check the phone's clock and enter the newest code."))
    return render(request, "portal/two_factor_setup.html", {
        "form": form, "qr_svg": two_factor.qr_svg(data=device.config_url), "otpauth_uri": device.config_url,
        "required": two_factor.two_factor_required_for(user=request.user), "next": _next_or(request, ""),
    }, status=400 if form.errors else 200)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    if request.user.is_verified() or not two_factor.totp_confirmed(user=request.user):
        return redirect(_next_or(request, "/"))
    form = forms.TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if two_factor.two_factor_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(_next_or(request, "/"))
        form.add_error("token", _("That code is not right. Enter the newest code from your app, or a backup code."))
    return render(request, "portal/two_factor_verify.html", {"form": form, "next": _next_or(request, "")},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def two_factor_remove(request):
    form = forms.TwoFactorCodeForm(request.POST)
    if form.is_valid():
        try:
            two_factor.two_factor_remove(request=request, token=form.cleaned_data["token"])
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Two-factor log-in is off. Your authenticator app's entry no longer works."))
    else:
        messages.error(request, _("Enter a code to remove two-factor log-in."))
    return redirect("account")

"""The account gate: what a signed-in person must do before any other page or API call.

In order: a browser signed out from elsewhere (its UserSession row is gone) is signed out; a
person with a two-factor device gives a code for this session; a person with a password someone
else saw (add_member's one-time password) chooses their own; a member of a tenant that requires
two-factor log-in (always, for law enforcement) sets it up. Until then every page redirects to
that step, and the API, called with the browser's session, answers 403 with the step's code and
address in its error shape (an API client cannot fill a form). API keys are not sessions and are
not gated here.

Operators' two-factor log-in is the platform area's own (portal.platform); the gate asks them
only to change a printed password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from portal.errors import error_body
from portal.web.accounts.sessions import SESSION_TOKEN, session_current, session_start, session_touch
from portal.web.accounts.two_factor import totp_confirmed, two_factor_required_for

UNGATED_PREFIXES = ("/static/", "/favicon.ico")
API_PREFIX = "/api/"
ALWAYS_OPEN = {"logout"}


class _Step:
    def __init__(self, code: str, url_name: str, message: str, open_names: set[str]) -> None:
        self.code, self.url_name, self.message, self.open_names = code, url_name, message, open_names


def _step_of(request) -> _Step | None:
    user = request.user
    has_device = not user.is_staff and totp_confirmed(user=user)
    if has_device and not user.is_verified():
        return _Step("two_factor_verify_required", "account_two_factor_verify",
                     _("Enter the code from your authenticator app to go on."), {"account_two_factor_verify"})
    if user.password_change_required:
        return _Step("password_change_required", "password_change",
                     _("Your password was given to you by someone else: choose your own to go on."),
                     {"password_change"})
    if not has_device and two_factor_required_for(user=user):
        return _Step("two_factor_setup_required", "account_two_factor",
                     _("Your organisation requires two-factor log-in: set it up to go on."), {"account_two_factor"})
    return None


class AccountGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        path = request.path_info
        if not user.is_authenticated or path.startswith(UNGATED_PREFIXES):
            return self.get_response(request)
        session = session_current(request=request)
        if session is None and request.session.get(SESSION_TOKEN):
            # This browser was signed out from another one.
            logout(request)
            if path.startswith(API_PREFIX):
                return JsonResponse(error_body(code="not_authenticated", message=_("You were signed out.")),
                                    status=401)
            messages.info(request, _("You were signed out of this browser from another one. Log in again."))
            return redirect_to_login(request.get_full_path())
        if session is None:
            session_start(request=request, user=user)  # a session begun before sessions were listed
        else:
            session_touch(request=request, session=session)
        step = _step_of(request)
        if step is None:
            return self.get_response(request)
        try:
            url_name = resolve(path).url_name
        except Resolver404:
            url_name = None
        if url_name in step.open_names | ALWAYS_OPEN:
            return self.get_response(request)
        location = reverse(step.url_name)
        if path.startswith(API_PREFIX):
            return JsonResponse(error_body(code=step.code, message=step.message, location=location), status=403)
        if request.method == "GET" and url_name not in (None, "home"):
            location += "?" + urlencode({"next": request.get_full_path()})
        return redirect(location)  # the step's page says why (the API's answer carries step.message)

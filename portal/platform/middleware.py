"""The platform area shows nothing of itself to anyone but operators.

Django's CSRF check runs before any view, so a POST without a token to a /platform/ page used to
answer 403 (the CSRF failure page) where a GET answered 404, and a tenant's browser session got a
DRF 403 from the platform API. This middleware sits before CsrfViewMiddleware and answers the
same 404 for every method first: to anyone who is not a signed-in operator on the platform pages,
and to a signed-in non-operator on the platform API (callers without a session go on to the
API's token authentication, which answers 401 without a valid platform token).

Someone not signed in who opens a platform page with GET is sent to log in, as on every other
page: the area's address is in the README, so a log-in redirect reveals nothing, and an operator
whose session expired must not meet a dead end. A signed-in user who is not an operator, and any
other method without a session, still gets the same 404 (the portal's page, never Django's
debug page that lists the URL patterns).
"""

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found

from portal.errors import error_body
from django.utils.translation import gettext as _

PAGES = "/platform/"
API = "/api/v1/platform/"


class PlatformConcealMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        path = request.path_info
        if not path.startswith((PAGES, API)):
            return None
        user = request.user
        operator = user.is_authenticated and user.is_active and user.is_staff
        if path.startswith(PAGES) and not operator:
            if not user.is_authenticated and request.method in ("GET", "HEAD"):
                return redirect_to_login(request.get_full_path())
            return page_not_found(request, Http404())
        if path.startswith(API) and user.is_authenticated and not operator:
            # In the API's error shape, as the API answers any other unknown path.
            return JsonResponse(error_body(code="not_found", message=_("Not found.")), status=404)
        return None

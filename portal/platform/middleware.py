"""The platform area does not confirm it exists to anyone but operators.

Django's CSRF check runs before any view, so a POST without a token to a /platform/ page used to
answer 403 (the CSRF failure page) where a GET answered 404, and a tenant's browser session got a
DRF 403 from the platform API. This middleware sits before CsrfViewMiddleware and answers the
same 404 for every method first: to anyone who is not a signed-in operator on the platform pages,
and to a signed-in non-operator on the platform API (callers without a session go on to the
API's token authentication, which answers 401 without a valid platform token).
"""

from django.http import Http404, JsonResponse

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
            raise Http404
        if path.startswith(API) and user.is_authenticated and not operator:
            # In the API's error shape, as the API answers any other unknown path.
            return JsonResponse(error_body(code="not_found", message=_("Not found.")), status=404)
        return None

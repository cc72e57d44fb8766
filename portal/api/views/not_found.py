from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from portal.errors import error_body
from django.utils.translation import gettext as _


@csrf_exempt  # API clients send no CSRF cookie; this answer is the same for every method
def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_body(code="not_found", message=_("No such API endpoint.")), status=404)

from django.http import JsonResponse

from portal.api.errors import error_body


def api_not_found(request, *args, **kwargs):
    return JsonResponse(error_body(code="not_found", message="No such API endpoint."), status=404)

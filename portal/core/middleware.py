"""While a restore is unfinished, the portal serves nothing (portal/core/restores.py)."""

from django.http import HttpResponse
from django.utils.translation import gettext

from portal.core.restores import restore_pending


class RestoreGuardMiddleware:
    """503 for every request while the restore marker exists: a restored database may still hold
    what an order or an erasure made after the backup covers, until the restore has applied it
    again and verified nothing is left."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if restore_pending() is not None:
            response = HttpResponse(gettext("The portal is being restored from a backup and is unavailable until "
                                            "the restore has finished."), status=503,
                                    content_type="text/plain; charset=utf-8")
            response["Retry-After"] = "300"
            return response
        return self.get_response(request)

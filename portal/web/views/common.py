"""What every page module shares: who acts, reading an upload, pages of lists, picture answers."""

from django.core.paginator import Paginator
from django.http import HttpResponse

from portal.audit.services import Actor
from portal.faces.engine import EngineConfig
from portal.faces.errors import ImageTooLarge
from django.utils.translation import gettext as _

PAGE_SIZE = 25
# Thumbnails and pictures are personal data: the browser may keep them for the session, no proxy may.
PRIVATE_CACHE = "private, max-age=300"


def actor_of(request) -> Actor:
    return Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR"))


def upload_read(upload) -> bytes:
    # Refuse an oversized upload before reading it into memory; the engine checks the rest.
    max_bytes = EngineConfig.from_settings().max_bytes
    if upload.size > max_bytes:
        raise ImageTooLarge(_("The picture is %(size)s MB; the limit is %(limit)s MB.") % {"size": format(upload.size / 1048576, '.1f'), "limit": format(max_bytes / 1048576, '.0f')})
    return upload.read()


def page_of(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def filters_query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def picture_response(data: bytes, content_type: str = "image/jpeg") -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = PRIVATE_CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response

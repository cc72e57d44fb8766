"""Redoc's bundle, as the pinned sidecar package ships it except for one address.

The bundle's sidebar footer shows its vendor's logo from the vendor's CDN. The portal fetches
nothing from outside (the Content-Security-Policy would refuse it, leaving a violation in every
visitor's console), so the bundle is served from here with that address pointing at the portal's
own icon. Read once per process; cached by browsers for a day.
"""

from functools import cache
from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpResponse
from django.templatetags.static import static
from django.views.decorators.http import require_GET

BUNDLE = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
VENDOR_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _bundle() -> bytes:
    return BUNDLE.read_text(encoding="utf-8").replace(VENDOR_LOGO, static("favicon.svg")).encode("utf-8")


@require_GET
def redoc_bundle(request):
    response = HttpResponse(_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response

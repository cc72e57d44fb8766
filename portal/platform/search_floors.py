"""The platform's search floors per kind of tenant (portal/search/floors.py): a page of the
platform area."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.audit.services import Actor
from portal.errors import DomainError
from portal.platform.views import platform_view
from portal.search.floors import FLOOR_THRESHOLD_RANGE, floor_set, floors
from tenants.models import Tenant


@platform_view
@require_http_methods(["GET", "POST"])
def search_floors(request):
    if request.method == "POST":
        try:
            kind = request.POST.get("kind", "")
            floor_set(kind=kind, min_threshold=float(request.POST.get("min_threshold", "")),
                      max_k=int(request.POST.get("max_k", "")),
                      actor=Actor.of_user(request.user, ip_address=request.META.get("REMOTE_ADDR")))
        except ValueError:
            messages.error(request, _("Give the threshold as a number (e.g. 0.92) and the matches as a whole number."))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The floor for %(kind)s tenants is saved; it applies to their next search.")
                             % {"kind": Tenant.Kind(kind).label.lower()})
            return redirect("platform_search_floors")
    current = floors()
    rows = [{"kind": kind, "label": label, "min_threshold": current[kind][0], "max_k": current[kind][1]}
            for kind, label in Tenant.Kind.choices]
    return render(request, "platform/search_floors.html", {
        "rows": rows, "threshold_range": FLOOR_THRESHOLD_RANGE}, status=400 if request.method == "POST" else 200)

"""The signed-in user's way in: their tenants, and a tenant's dashboard."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from portal.gallery import selectors as gallery_selectors
from portal.search import selectors as search_selectors
from tenants.selectors import tenant_members, user_memberships


@login_required
def home(request):
    """Sends a user to their tenant; a user of several tenants chooses; operators go to the platform area."""
    memberships = list(user_memberships(user=request.user))
    if len(memberships) == 1 and not request.user.is_staff:
        return redirect("tenant_dashboard", tenant_slug=memberships[0].tenant.slug)
    if not memberships and request.user.is_staff:
        return redirect("platform_dashboard")
    return render(request, "portal/choose_tenant.html", {"memberships": memberships})


def tenant_dashboard(request, tenant_slug):
    tenant, membership = request.tenant, request.membership
    context = {"members": tenant_members(tenant=tenant),
               "recent_searches": search_selectors.searches_list(tenant=tenant)[:5]}
    if membership.can_search:
        context["subject_count"] = gallery_selectors.subjects_list(tenant=tenant).count()
        context["gallery_empty"] = gallery_selectors.gallery_is_empty(tenant=tenant)
    return render(request, "portal/dashboard.html", context)

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tenants.selectors import tenant_members, user_memberships


@login_required
def home(request):
    """Sends a user to their tenant; a user of several tenants chooses; operators go to the platform area."""
    memberships = list(user_memberships(user=request.user))
    if len(memberships) == 1 and not request.user.is_staff:
        return redirect("tenant_dashboard", tenant_slug=memberships[0].tenant.slug)
    return render(request, "portal/choose_tenant.html", {"memberships": memberships})


def tenant_dashboard(request, tenant_slug):
    # Membership was checked by TenantMiddleware; request.tenant is the scoped tenant.
    return render(request, "portal/dashboard.html", {"members": tenant_members(tenant=request.tenant)})

"""Tenant resolution for browser pages: `/t/<tenant_slug>/...`.

Every request runs in one transaction that carries the signed-in user's id for RLS. A request to
a tenant URL is checked here, once: the user must be a member of that active tenant, or the
answer is 404. The rest of the request then runs inside `tenant_scope(tenant)`, and views find
`request.tenant` and `request.membership`.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.urls import Resolver404, resolve

from tenants.context import rls_user, tenant_scope
from tenants.selectors import membership_for_tenant_slug
from django.utils.translation import gettext as _


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.membership = None
        try:
            tenant_slug = resolve(request.path_info).kwargs.get("tenant_slug")
        except Resolver404:
            tenant_slug = None

        user = request.user
        with transaction.atomic(), rls_user(user_id=user.pk if user.is_authenticated else None):
            if tenant_slug is None:
                return self.get_response(request)
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for_tenant_slug(user=user, tenant_slug=tenant_slug)
            request.tenant, request.membership = membership.tenant, membership
            with tenant_scope(membership.tenant):
                return self.get_response(request)


def membership_required(*, allowed: str):
    """View decorator for role checks on top of the middleware's membership check.
    `allowed` names a Membership property: "can_search", "can_manage" or "can_audit"."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.membership is None:
                raise Http404
            if not getattr(request.membership, allowed):
                raise PermissionDenied(_("Your role (%(role)s) does not allow this page.") % {"role": request.membership.get_role_display()})
            return view(request, *args, **kwargs)

        return wrapped

    return decorator

"""What a caller may do: the scope each method of a view needs."""

from rest_framework.permissions import BasePermission

from portal.api.errors import ScopeMissing
from django.utils.translation import gettext as _


class ScopeRequired(BasePermission):
    """The view's `required_scopes` maps HTTP methods to the scope they need (or a tuple of
    scopes, any of which will do); a method it does not name needs the scope of GET. Whether the
    caller holds a scope is the view's to say (an API key's scopes, a staff token's)."""

    def has_permission(self, request, view) -> bool:
        needed = view.scope_for(request.method)
        choices = (needed,) if isinstance(needed, str) else tuple(needed)
        if not any(view.caller_has_scope(request, scope) for scope in choices):
            names = " or ".join(f'"{scope}"' for scope in choices)
            raise ScopeMissing(_("This %(credential_name)s lacks the %(names)s scope.") % {"credential_name": view.credential_name, "names": names})
        return True

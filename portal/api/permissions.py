"""What an API key may do: the scope each method of a view needs."""

from rest_framework.permissions import BasePermission

from portal.api.errors import ScopeMissing


class ApiKeyScopeRequired(BasePermission):
    """The view's `required_scopes` maps HTTP methods to the scope they need (or a tuple of
    scopes, any of which will do); a method it does not name needs the scope of GET."""

    def has_permission(self, request, view) -> bool:
        needed = view.scope_for(request.method)
        choices = (needed,) if isinstance(needed, str) else tuple(needed)
        if not any(request.auth.has_scope(scope) for scope in choices):
            names = " or ".join(f'"{scope}"' for scope in choices)
            raise ScopeMissing(f"This API key lacks the {names} scope.")
        return True

"""The platform API's token: `Authorization: Bearer pst_<prefix>_<secret>`, a staff user's."""

from django.utils import timezone
from rest_framework import exceptions
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from tenants.secrets import STAFF_TOKEN, secret_owner
from portal.platform.models import StaffApiToken
from tenants.context import dangerously_unscoped
from django.utils.translation import gettext as _

KEYWORD = "Bearer"


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer pst_<prefix>_<secret>` (made by `manage.py platform_token_create`)."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_('Send the token as "Authorization: %(KEYWORD)s <token>".') % {"KEYWORD": KEYWORD})
        secret = header[1].decode("latin-1")
        parts = secret.split("_")
        if len(parts) < 3 or parts[0] != "pst":
            raise exceptions.AuthenticationFailed(_("The platform token is not valid."))
        owner = secret_owner(kind=STAFF_TOKEN, prefix=parts[1], raw_secret=secret)
        token = owner and StaffApiToken.objects.select_related("user").filter(pk=owner[0], revoked_at__isnull=True).first()
        if not token:
            raise exceptions.AuthenticationFailed(_("The platform token is not valid, or it was revoked."))
        if not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed(_("The token's user is no longer a platform operator."))
        with dangerously_unscoped(reason="recording a platform token's use"):
            StaffApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return (token.user, token)

    def authenticate_header(self, request):
        return KEYWORD


class StaffTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.platform_authentication.StaffTokenAuthentication"
    name = "PlatformToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A platform token made by `manage.py platform_token_create` (staff users only). "
                               "Scopes: orders:read, orders:write. A staff browser session that passed "
                               "two-factor works too."}

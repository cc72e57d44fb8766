"""`Authorization: Api-Key <key>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from portal.api.services import api_key_authenticate
from django.utils.translation import gettext as _

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    """Returns (None, ApiKey): a key is not a user, and acts only for its own tenant."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].decode("latin-1").lower() != KEYWORD.lower():
            raise exceptions.AuthenticationFailed(_('Send the key as "Authorization: %(KEYWORD)s <key>".') % {"KEYWORD": KEYWORD})
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_('Send the key as "Authorization: %(KEYWORD)s <key>".') % {"KEYWORD": KEYWORD})
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The API key is not valid.")) from None
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("The API key is not valid, or it was revoked."))
        return (None, api_key)

    def authenticate_header(self, request):
        return KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": f'"{KEYWORD} <key>", with a key made by a tenant owner or admin '
                           "(portal page or `manage.py create_api_key`). Scopes: search, gallery:read, "
                           "gallery:write, audit:read.",
        }

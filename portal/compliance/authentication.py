"""Who may use the platform API: staff users, by a platform token or a two-factor session."""

import hashlib
import hmac

from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from portal.compliance.models import StaffApiToken

KEYWORD = "Bearer"


class StaffTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer pst_<prefix>_<secret>` (made by `manage.py platform_token_create`)."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() != KEYWORD.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(f'Send the token as "Authorization: {KEYWORD} <token>".')
        secret = header[1].decode("latin-1")
        parts = secret.split("_")
        if len(parts) < 3 or parts[0] != "pst":
            raise exceptions.AuthenticationFailed("The platform token is not valid.")
        token = StaffApiToken.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if token is None or not hmac.compare_digest(token.secret_hash, digest):
            raise exceptions.AuthenticationFailed("The platform token is not valid, or it was revoked.")
        if not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed("The token's user is no longer a platform operator.")
        StaffApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return (token.user, token)

    def authenticate_header(self, request):
        return KEYWORD


class IsPlatformOperator(BasePermission):
    """Staff only; a browser session must also have passed two-factor. Anyone else signed in
    gets 404, as in the platform pages."""

    def has_permission(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        if not user.is_staff:
            raise Http404
        if isinstance(request.successful_authenticator, SessionAuthentication):
            return bool(getattr(user, "is_verified", lambda: False)())
        return True

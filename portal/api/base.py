"""The base classes of every endpoint under /api/v1/ (Sentry's pattern: resolve the caller once).

`PortalApiView` is what every endpoint gets: one error shape, the caller's scope checked for the
method, rate limits, a request-size limit, `Idempotency-Key` on POSTs, and the whole handler run
inside one context (a transaction) that an exception leaves before it becomes an error response,
so a handler that raises leaves nothing behind. Two kinds of caller fill in its hooks:

- `TenantApiView`: a tenant's system with an API key. The handler runs inside
  `tenant_scope(key.tenant)`: the ContextVar that the managers read and the RLS settings.
- `PlatformApiView` (portal/api/views/platform.py's base): an operator, with a staff token or a
  two-factor staff session; anyone else gets 404, as from the platform pages.

Views add permissions (`permission_classes`) and throttles (`throttle_classes`); they can never
remove the base ones, which `get_permissions()`/`get_throttles()` always put first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, ExitStack
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.authentication import ApiKeyAuthentication
from portal.api.errors import ApiError, IdempotencyConflict, IdempotencyKeyReused, RequestTooLarge
from portal.api.models import ApiKey
from portal.api.pagination import StableCursorPagination
from portal.api.parsers import BoundedJSONParser
from portal.api.permissions import ScopeRequired
from portal.api.selectors import idempotency_record_get
from portal.api.services import idempotency_record_store
from portal.api.throttles import ApiKeyRateThrottle, TenantRateThrottle
from portal.audit.services import Actor
from portal.errors import error_body
from tenants.context import tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _, gettext_lazy

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[!-~]{1,255}")
_DB_ID_MAX = 2**63 - 1


class PortalApiView(ABC, APIView):
    """Abstract: a kind of caller (TenantApiView, PlatformApiView) fills in the caller_* hooks."""

    # method -> scope; methods not named need the scope of GET (OPTIONS, HEAD).
    required_scopes: dict[str, str | tuple[str, ...]] = {}
    parser_classes = (BoundedJSONParser,)
    pagination_class = StableCursorPagination  # used by page(); the schema reads it too
    permission_classes: tuple = ()
    throttle_classes: tuple = ()
    not_authenticated_message = gettext_lazy("Authentication is required.")
    credential_name = "caller"  # in "This <credential> lacks the ... scope."

    # --- what each kind of caller decides -------------------------------------------------------
    @abstractmethod
    def get_authenticators(self):
        """The authentication classes of this kind of caller, instantiated."""

    def caller_admit(self, request) -> None:
        """After authentication: refuse a caller that may not use this API at all."""

    @abstractmethod
    def caller_context(self, request) -> AbstractContextManager:
        """The context the handler runs in; it must open a transaction."""

    @abstractmethod
    def caller_throttles(self) -> list:
        """The rate limits this kind of caller always gets."""

    @abstractmethod
    def caller_has_scope(self, request, scope: str) -> bool:
        """Whether the authenticated caller holds the scope."""

    @abstractmethod
    def actor(self) -> Actor:
        """Who acts, for the audit chain."""

    @abstractmethod
    def idempotency_owner(self) -> dict:
        """The fields that own a stored response: whose namespace an Idempotency-Key lives in."""

    @abstractmethod
    def idempotency_context(self) -> AbstractContextManager:
        """Where stored responses are read and written (RLS)."""

    # --- what the base always does --------------------------------------------------------
    def get_permissions(self):
        return [ScopeRequired(), *(permission() for permission in self.permission_classes)]

    def get_throttles(self):
        return [*self.caller_throttles(), *(throttle() for throttle in self.throttle_classes)]

    def scope_for(self, method: str) -> str | tuple[str, ...]:
        return self.required_scopes.get(method.upper()) or self.required_scopes["GET"]

    def perform_content_negotiation(self, request, force=False):
        # Every answer is JSON (or, for crops, a JPEG written directly), so a client's Accept
        # header never turns a request into a 406.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    # --- input helpers for handlers ------------------------------------------------------------
    def query_validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body_validated(self, serializer_class=None, *, multipart=None, json=None) -> dict:
        """Validates the body with `serializer_class`, or with `multipart`/`json` by content type
        (pictures come as a multipart file or as base64 in JSON)."""
        if serializer_class is None:
            is_multipart = (self.request.content_type or "").startswith("multipart/")
            serializer_class = multipart if is_multipart else json
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def page(self, queryset, serializer_class):
        paginator = self.pagination_class()
        items = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(
            serializer_class(items, many=True, context={"request": self.request}).data)

    @staticmethod
    def object_id(value: int) -> int:
        """A path id the database can hold; larger ones cannot exist, so they are 404 too."""
        if not 0 < value <= _DB_ID_MAX:
            raise exceptions.NotFound()
        return value

    # --- the request's life -----------------------------------------------------------------
    def dispatch(self, request, *args, **kwargs):
        # DRF's dispatch(), with the caller's context held open on an ExitStack from
        # authentication (in initial()) to the end of the handler. An exception unwinds the
        # context, rolling back everything the handler wrote, before handle_exception() turns it
        # into an error body.
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            with ExitStack() as self._scope_stack:
                self.initial(request, *args, **kwargs)
                response = self._handle(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        if request.auth is None and not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated(self.not_authenticated_message)
        self.caller_admit(request)
        self._request_size_check(request)
        self._scope_stack.enter_context(self.caller_context(request))
        super().initial(request, *args, **kwargs)  # content negotiation, scope permission, rate limits

    def handle_exception(self, exc):
        try:
            return super().handle_exception(exc)
        except Exception:
            # Anything the error handler does not know is a bug: log it, answer in the one shape.
            logger.exception("API request failed: %s %s", self.request.method, self.request.path)
            return Response(error_body(code="server_error", message=_("The server failed to answer this request.")),
                            status=500)

    def _request_size_check(self, request) -> None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_REQUEST_BYTES:
            raise RequestTooLarge(_("The request body is larger than %(limit)s bytes.") % {"limit": settings.API_MAX_REQUEST_BYTES})

    def _handle(self, request, *args, **kwargs):
        method = request.method.lower()
        handler = getattr(self, method, self.http_method_not_allowed) if method in self.http_method_names \
            else self.http_method_not_allowed
        key = request.headers.get(IDEMPOTENCY_HEADER) if request.method == "POST" else None
        if key is None:
            return handler(request, *args, **kwargs)
        return self._handle_idempotent(handler, key, request, *args, **kwargs)

    def _handle_idempotent(self, handler, key: str, request, *args, **kwargs):
        if not IDEMPOTENCY_KEY_PATTERN.fullmatch(key):
            raise ApiError(_("%(header)s must be 1 to 255 visible ASCII characters (a UUID will do).") % {"header": IDEMPOTENCY_HEADER},
                           code="invalid", fields={IDEMPOTENCY_HEADER: [_("Not a valid key.")]})
        fingerprint = request_fingerprint(request)
        not_before = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
        owner = self.idempotency_owner()
        with self.idempotency_context():
            record = idempotency_record_get(owner=owner, key=key, not_before=not_before)
        if record is not None:
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    _("This %(header)s was used for a different request in the last %(hours)s hours; use a new key for a new request.") % {"header": IDEMPOTENCY_HEADER, "hours": settings.API_IDEMPOTENCY_HOURS})
            return Response(record.response_body, status=record.response_status,
                            headers={"Idempotent-Replayed": "true"})
        response = handler(request, *args, **kwargs)
        if 200 <= response.status_code < 300:
            body = json.loads(JSONRenderer().render(response.data) or b"null")
            try:
                with self.idempotency_context():
                    idempotency_record_store(owner=owner, key=key, method=request.method, path=request.path,
                                             fingerprint=fingerprint, response_status=response.status_code,
                                             response_body=body)
            except IntegrityError:
                # A concurrent request with the same key committed first; this one's work rolls
                # back (the exception leaves the caller's context), so nothing is stored twice.
                raise IdempotencyConflict(_("Another request with this %(header)s was processed at the same time; retry to get its response.") % {"header": IDEMPOTENCY_HEADER}) from None
        return response


class TenantApiView(PortalApiView):
    """A tenant's endpoint: an API key, the key's scopes, limits per key and per tenant, and the
    handler inside the key's tenant scope."""

    not_authenticated_message = gettext_lazy('Send an API key: "Authorization: Api-Key <key>".')
    credential_name = "API key"

    def get_authenticators(self):
        return [ApiKeyAuthentication()]

    def caller_admit(self, request) -> None:
        if not request.auth.tenant.is_active:
            raise ApiError(_("This tenant is suspended; its API keys do not work."), code="tenant_suspended",
                           status_code=403)

    def caller_context(self, request):
        return tenant_scope(request.auth.tenant)

    def caller_throttles(self) -> list:
        return [ApiKeyRateThrottle(), TenantRateThrottle()]

    def caller_has_scope(self, request, scope: str) -> bool:
        return request.auth.has_scope(scope)

    @property
    def api_key(self) -> ApiKey:
        return self.request.auth

    @property
    def tenant(self) -> Tenant:
        return self.request.auth.tenant

    def actor(self) -> Actor:
        api_key = self.api_key
        return Actor(label=f"API key {api_key.prefix} ({api_key.name})"[:200], api_key_id=api_key.pk,
                     ip_address=self.request.META.get("REMOTE_ADDR") or None)

    def idempotency_owner(self) -> dict:
        return {"tenant": self.tenant, "api_key": self.api_key}

    def idempotency_context(self):
        return tenant_scope(self.tenant)


def _value_fingerprint(value) -> str:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return f"file:{digest.hexdigest()}"
    return str(value)


def request_fingerprint(request) -> str:
    """What makes two requests the same: method, path, query and the *parsed* body, so that a
    multipart retry with a new boundary still matches, and a changed field or picture does not."""
    data = request.data
    if hasattr(data, "lists"):
        body = {name: [_value_fingerprint(value) for value in values] for name, values in data.lists()}
    else:
        body = data
    canonical = json.dumps(
        {"method": request.method, "path": request.path, "query": sorted(request.query_params.lists()),
         "body": body},
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()

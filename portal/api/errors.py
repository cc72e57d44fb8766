"""The one place that turns exceptions into API errors, so every error body has the same shape:

    {"error": {"code": "machine_readable", "message": "For people.", "fields": {"field": ["..."]}}}

Domain errors (portal.errors.DomainError: face engine, gallery, search, compliance) carry their
own code, status and field, and become a body through portal.errors.domain_error_body, the same
helper the browser's JSON endpoints use; DRF's and Django's exceptions are mapped here. Anything
else is a 500 with no detail, and the request's transaction has already rolled back.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from portal.errors import DomainError, domain_error_body, error_body
from django.utils.translation import gettext as _, gettext_lazy

logger = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """An error raised by the API layer itself, with its code, status and optional field errors."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = gettext_lazy("The request is not valid.")

    def __init__(self, message: str | None = None, *, code: str | None = None, status_code: int | None = None,
                 fields: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message or self.default_detail, code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.error_code = code or self.default_code
        self.fields = fields or {}
        self.headers = headers or {}


class ScopeMissing(ApiError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "scope_missing"


class RequestTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class IdempotencyKeyReused(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class IdempotencyConflict(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [f"{key}: {message}" for key, value in detail.items() for message in _messages(value)]
    if isinstance(detail, (list, tuple)):
        return [message for item in detail for message in _messages(item)]
    return [str(detail)]


def _field_errors(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


# DRF's own exceptions: status is theirs, the code names what went wrong.
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "rate_limited"),
]


def _response(*, status_code: int, code: str, message: str, fields: dict | None = None,
              headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response(error_body(code=code, message=message, fields=fields, **extra), status=status_code,
                    headers=headers)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApiError):
        return _response(status_code=exc.status_code, code=exc.error_code, message=str(exc.detail),
                         fields=exc.fields, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        return _response(status_code=400, code="invalid", message=_("The request has invalid fields: %(fields)s") % {
                             "fields": "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())},
                         fields=fields)
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        return _response(status_code=429, code="rate_limited",
                         message=_("Rate limit passed; retry in %(wait)s second(s).") % {"wait": wait},
                         headers={"Retry-After": str(wait)})
    if isinstance(exc, exceptions.APIException):
        code = next((name for cls, name in _DRF_CODES if isinstance(exc, cls)), "error")
        headers = {}
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            # DRF's APIView sets auth_header from the view's first authenticator ("Api-Key" for
            # the tenant API, "Bearer" for the platform API) before calling this handler.
            headers["WWW-Authenticate"] = getattr(exc, "auth_header", "") or "Api-Key"
        return _response(status_code=exc.status_code, code=code, message=" ".join(_messages(exc.detail)),
                         headers=headers)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return _response(status_code=404, code="not_found", message=_("Not found."))
    if isinstance(exc, PermissionDenied):
        return _response(status_code=403, code="permission_denied", message=str(exc) or _("Not allowed."))
    if isinstance(exc, RequestDataTooBig):
        return _response(status_code=413, code="request_too_large", message=_("The request body is too large."))
    if isinstance(exc, DomainError):
        if exc.status >= 500:
            logger.exception("%s failed", type(exc).__name__, exc_info=exc)
        return Response(domain_error_body(exc), status=exc.status)
    return None

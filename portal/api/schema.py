"""OpenAPI schema generation: every operation documents the errors it can answer with, in the
one error shape, and every POST of a tenant endpoint its Idempotency-Key header."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

_ERROR_DESCRIPTIONS = {
    400: "Malformed request or invalid fields (see error.fields).",
    401: "No API key, or a key that is not valid or was revoked.",
    403: "The key lacks the scope this operation needs, or its tenant is suspended.",
    404: "No such object for this tenant (another tenant's ids are answered the same way).",
    405: "Method not allowed.",
    409: "Another request with the same Idempotency-Key was processed at the same time; retry.",
    413: "The request or picture is too large.",
    415: "Not a supported picture type (JPEG, PNG, WebP) or request content type.",
    422: "No face found in the picture, or an Idempotency-Key reused for a different request.",
    429: "Rate limit of the key or tenant passed; see the Retry-After header.",
    451: "Refused by a regulatory order or opt-out (error.reference names it).",
    500: "Server error.",
}


class PortalAutoSchema(AutoSchema):
    def _error_statuses(self) -> list[int]:
        from portal.api.base import TenantApiView

        view = self.view
        if not isinstance(view, TenantApiView):
            return []
        statuses = {400, 401, 403, 405, 429}
        if "{" in self.path:
            statuses.add(404)
        if self.method == "POST":
            statuses |= {409, 413, 415, 422}
        statuses |= set(getattr(view, "error_statuses", {}).get(self.method, ()))
        return sorted(statuses)

    def _get_response_bodies(self, direction="response"):
        from portal.api.serializers import ErrorSerializer

        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if str(status) in responses:
                continue
            response = self._get_response_for_code(ErrorSerializer, str(status), direction=direction)
            response["description"] = _ERROR_DESCRIPTIONS.get(status, "Error.")
            if status == 429:
                response["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                       "description": "Seconds to wait before retrying."}}
            responses[str(status)] = response
        return responses

    def get_override_parameters(self):
        from portal.api.base import IDEMPOTENCY_HEADER, TenantApiView

        parameters = list(super().get_override_parameters())
        if isinstance(self.view, TenantApiView) and self.method == "POST":
            parameters.append(OpenApiParameter(
                IDEMPOTENCY_HEADER, {"type": "string", "pattern": "^[!-~]{1,255}$"}, OpenApiParameter.HEADER,
                required=False,
                description="Any unique string (a UUID): 1 to 255 visible ASCII characters. A retry with the same key "
                            "and request within 24 hours returns the first response without doing the work "
                            "again (header Idempotent-Replayed: true); the same key with a different request "
                            "is a 422.",
            ))
        return parameters


def platform_endpoints_only(endpoints):
    """The operator's schema (/api/v1/platform/schema/) describes the platform API alone."""
    from portal.api.views.platform import PlatformApiView

    return [endpoint for endpoint in endpoints if issubclass(getattr(endpoint[3], "cls", object), PlatformApiView)]


def tenant_endpoints_only(endpoints):
    """The tenant API's schema describes the tenant API: other DRF views mounted elsewhere (the
    platform's staff API) have their own audience and documentation."""
    from portal.api.base import TenantApiView
    from portal.api.views.health import HealthView

    return [endpoint for endpoint in endpoints
            if issubclass(getattr(endpoint[3], "cls", object), (TenantApiView, HealthView))]

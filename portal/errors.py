"""The one error type of the domain.

Every rule a service enforces fails with a `DomainError` (or a subclass naming what went wrong):
a message for people, a machine-readable code, the HTTP status an answer should carry and, when
one field of the input is at fault, that field. Three places turn it into an answer, each with
the one helper here: the REST API (portal.api.errors, through `error_body`), the browser's JSON
endpoints (same body) and forms (`form_error_add`).

This module is below every app: it imports nothing of the project.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "invalid"
    status: int = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field

    def extra(self) -> dict[str, Any]:
        """Further members of the error body (e.g. the order that refused a picture)."""
        return {}


def error_body(*, code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The API's error shape: {"error": {"code", "message", "fields", ...}}."""
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def domain_error_body(error: DomainError) -> dict[str, Any]:
    return error_body(code=error.code, message=error.message,
                      fields={error.field: [error.message]} if error.field else None, **error.extra())


def form_error_add(form, error: DomainError, *, field: str | None = None) -> None:
    """Puts the error on the form: on its field when the form has one by that name (or on `field`,
    where a form names it differently), otherwise at the top of the form."""
    target = field or error.field
    form.add_error(target if target in form.fields else None, error.message)

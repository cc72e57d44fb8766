"""The current tenant of a request or task: a ContextVar for Python, a setting for PostgreSQL.

`tenant_scope(tenant)` opens a transaction and sets both, so the ORM's managers and the
row-level security policies agree on whose rows exist. With no scope set, tenant-owned managers
raise (fail closed) and RLS shows no rows. Platform code that must act across tenants says so
with `dangerously_unscoped(reason=...)`, a name that stands out in review.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator

from django.db import connection, transaction

if TYPE_CHECKING:
    from tenants.models import Tenant


class TenantScopeMissing(RuntimeError):
    """Tenant-owned data was touched with no tenant in scope."""


class _Unscoped:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unscoped: {self.reason}>"


_current: ContextVar["Tenant | _Unscoped | None"] = ContextVar("portal_current_tenant", default=None)


def _rls_set(name: str, value: str) -> None:
    # set_config(..., true) is SET LOCAL: it ends with the transaction, so a pooled connection
    # can never carry one tenant's scope into another's request.
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def tenant_current() -> "Tenant":
    value = _current.get()
    if value is None or isinstance(value, _Unscoped):
        raise TenantScopeMissing("No tenant is in scope for this request or task.")
    return value


def tenant_current_or_none() -> "Tenant | None":
    value = _current.get()
    return None if isinstance(value, _Unscoped) else value


def scope_is_unscoped() -> bool:
    return isinstance(_current.get(), _Unscoped)


def _rls_apply(scope: "Tenant | _Unscoped | None") -> None:
    tenant = None if scope is None or isinstance(scope, _Unscoped) else scope
    _rls_set("portal.scope", "all" if isinstance(scope, _Unscoped) else "")
    _rls_set("portal.tenant_id", "" if tenant is None else str(tenant.pk))
    _rls_set("portal.platform_index", "on" if tenant is not None and tenant.may_search_platform_index else "")


@contextmanager
def _scope(value: "Tenant | _Unscoped") -> Iterator[None]:
    outer = _current.get()
    token = _current.set(value)
    try:
        with transaction.atomic():
            _rls_apply(value)
            yield
            # A nested scope shares the outer transaction, so hand its settings back.
            # (On an exception the savepoint's rollback undoes the SET LOCAL by itself.)
            _rls_apply(outer)
    finally:
        _current.reset(token)


@contextmanager
def tenant_scope(tenant: "Tenant") -> Iterator["Tenant"]:
    with _scope(tenant):
        yield tenant


@contextmanager
def dangerously_unscoped(*, reason: str) -> Iterator[None]:
    """Platform code acting across every tenant (orders, certificates, admin). Say why."""
    with _scope(_Unscoped(reason)):
        yield


def rls_user_set(*, user_id: int | None) -> None:
    """Lets a signed-in user read their own memberships before any tenant is chosen."""
    _rls_set("portal.user_id", "" if user_id is None else str(user_id))

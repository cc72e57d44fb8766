"""The current tenant of a request or task: a ContextVar for Python, a signed claim for PostgreSQL.

`tenant_scope(tenant)` opens a transaction and sets both, so the ORM's managers and the
row-level security policies agree on whose rows exist. With no scope set, tenant-owned managers
raise (fail closed) and RLS shows no rows. Platform code that must act across tenants says so
with `dangerously_unscoped(reason=...)`, a name that stands out in review.

Unscoped work runs on its own connection, the `platform` database alias, logged in as the
platform's role: PostgreSQL honours the platform scope only in that role's sessions
(tenants/0010), so the connection that serves tenants cannot reach every tenant's rows even with
a validly signed claim. `PlatformWorkRouter` sends the ORM there while the scope is unscoped;
raw SQL, transactions and commit hooks of code that may run in either scope use
`scope_connection()`, `scope_atomic()` and `scope_on_commit()`.

A search's vector query may read on a streaming replica (settings.DATABASE_REPLICA_URLS):
`replica_read_scope()` opens the current tenant's scope there, signed and checked as on the
primary, and while it lasts the router sends reads, and `scope_connection()`, to the replica.
Writes never go there.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator

from django.db import connections, transaction
from django.db.utils import DEFAULT_DB_ALIAS

from portal.runtime.replicas import REPLICA_ALIAS_PREFIX
from tenants.claims import claim_message, claim_sign

if TYPE_CHECKING:
    from tenants.models import Tenant


class TenantScopeMissing(RuntimeError):
    """Tenant-owned data was touched with no tenant in scope."""


class _Unscoped:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unscoped: {self.reason}>"


# The database alias of unscoped platform work (settings.DATABASES).
PLATFORM_ALIAS = "platform"

_current: ContextVar["Tenant | _Unscoped | None"] = ContextVar("portal_current_tenant", default=None)
# The scopes entered, innermost last: leaving one restores, on its connection, the claim of the
# nearest outer scope that used the same connection.
_stack: ContextVar[tuple["Tenant | _Unscoped", ...]] = ContextVar("portal_scope_stack", default=())
_user_id: ContextVar[int | None] = ContextVar("portal_current_user_id", default=None)
# The replica a read of the current tenant's scope is on (replica_read_scope), or None.
_replica_read: ContextVar[str | None] = ContextVar("portal_replica_read", default=None)
_replica_turns = itertools.count()


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


def _alias(scope: "Tenant | _Unscoped | None") -> str:
    return PLATFORM_ALIAS if isinstance(scope, _Unscoped) else DEFAULT_DB_ALIAS


def scope_alias() -> str:
    """The database alias of the current scope: `platform` while unscoped, the replica inside
    replica_read_scope(), else `default`."""
    return _replica_read.get() or _alias(_current.get())


def scope_connection():
    """The connection the current scope's queries run on, for raw SQL."""
    return connections[scope_alias()]


def scope_atomic():
    """transaction.atomic() on the current scope's connection."""
    return transaction.atomic(using=scope_alias())


def scope_on_commit(func) -> None:
    """Runs `func` once the current scope's transaction commits (at once outside a transaction)."""
    transaction.on_commit(func, using=scope_alias())


# Apps whose tables only the platform's connection writes (core's migrate withholds the rest):
# django-celery-beat's schedules, since a row there makes the worker run a task.
PLATFORM_APPS = {"django_celery_beat"}


class PlatformWorkRouter:
    """Sends the ORM to the `platform` connection while the scope is unscoped, and to `default`
    otherwise, whichever connection an object was loaded through; the platform's own apps
    always to `platform`. Both aliases are one database."""

    def db_for_read(self, model, **hints) -> str:
        return PLATFORM_ALIAS if model._meta.app_label in PLATFORM_APPS else scope_alias()

    def db_for_write(self, model, **hints) -> str:
        return PLATFORM_ALIAS if model._meta.app_label in PLATFORM_APPS else _alias(_current.get())

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


def replica_aliases() -> list[str]:
    """The aliases of the streaming replicas configured (settings.DATABASE_REPLICA_URLS)."""
    return sorted(alias for alias in connections.settings if alias.startswith(REPLICA_ALIAS_PREFIX))


def replica_alias_next() -> str | None:
    """The replica the next search read goes to, in turn; None when there is none."""
    aliases = replica_aliases()
    return aliases[next(_replica_turns) % len(aliases)] if aliases else None


@contextmanager
def replica_read_scope(*, alias: str) -> Iterator[None]:
    """The current tenant's scope on the replica `alias`, for reads: a transaction of its own
    there (read-only, as every transaction on a standby is) with the tenant's signed claim. The
    replica is a physical copy of the primary, so its roles, claim key, functions and policies
    are the primary's and RLS binds the read as it would there. Platform work never reads on a
    replica: outside a tenant's scope this raises TenantScopeMissing."""
    tenant = tenant_current()
    token = _replica_read.set(alias)
    try:
        with transaction.atomic(using=alias):
            _rls_apply(tenant, using=alias)
            yield
    finally:
        _replica_read.reset(token)


def _rls_apply(scope: "Tenant | _Unscoped | None", *, using: str | None = None) -> None:
    """Sets the scope's settings for PostgreSQL with a claim that signs them (tenants.claims).
    Two round trips: the claim is bound to this server process and transaction, so it needs the
    transaction's start time first. set_config(..., true) is SET LOCAL: it ends with the
    transaction, so a pooled connection never carries one scope into another's request."""
    tenant = None if scope is None or isinstance(scope, _Unscoped) else scope
    values = {
        "scope": "all" if isinstance(scope, _Unscoped) else "",
        "tenant_id": "" if tenant is None else str(tenant.pk),
        "platform_index": "on" if tenant is not None and tenant.may_search_platform_index else "",
        "user_id": "" if _user_id.get() is None else str(_user_id.get()),
    }
    with connections[using or _alias(scope)].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), portal_transaction_started()")
        backend_pid, started = cursor.fetchone()
        claim = claim_sign(claim_message(**values, backend_pid=backend_pid, transaction_started=started))
        cursor.execute(
            "SELECT set_config('portal.scope', %s, true), set_config('portal.tenant_id', %s, true),"
            " set_config('portal.platform_index', %s, true), set_config('portal.user_id', %s, true),"
            " set_config('portal.claim', %s, true)",
            [values["scope"], values["tenant_id"], values["platform_index"], values["user_id"], claim],
        )


@contextmanager
def _scope(value: "Tenant | _Unscoped") -> Iterator[None]:
    alias = _alias(value)
    outer = next((scope for scope in reversed(_stack.get()) if _alias(scope) == alias), None)
    token, stack_token = _current.set(value), _stack.set((*_stack.get(), value))
    try:
        with transaction.atomic(using=alias):
            _rls_apply(value)
            yield
            # A nested scope on the same connection shares the outer transaction, so hand the
            # outer scope's settings back. (On an exception the savepoint's rollback undoes the
            # SET LOCAL by itself.)
            _rls_apply(outer, using=alias)
    finally:
        _stack.reset(stack_token)
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


@contextmanager
def rls_user(*, user_id: int | None) -> Iterator[None]:
    """Lets a signed-in user read their own memberships before any tenant is chosen. Call it
    inside the request's transaction; the scopes opened within keep the user in their claim."""
    token = _user_id.set(user_id)
    try:
        _rls_apply(_current.get())
        yield
    finally:
        _user_id.reset(token)

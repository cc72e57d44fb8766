"""Writing API keys and stored idempotent responses.

A key looks like `fsk_<prefix>_<secret>`: the 8-character prefix is stored in clear (it names the
key in lists and finds its row), the whole key only as a SHA-256 hash, in a table only database
functions read (portal.api.secrets).
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from typing import Any, Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.api.models import ApiKey, ApiKeyScope, IdempotencyRecord, TenantApiSettings
from tenants.secrets import API_KEY, secret_owner, secret_store
from portal.api.throttles import rate_parse
from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from tenants.context import dangerously_unscoped, scope_atomic, scope_connection, tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _

KEY_PREFIX = "fsk_"
_PREFIX_LENGTH = 8
# last_used_at is written at most this often per key, so busy keys do not write on every call.
_LAST_USED_RESOLUTION_SECONDS = 60


class ApiKeyInvalid(DomainError):
    """A key or API setting that cannot be made as asked (names the field)."""


def _prefix_of(raw_key: str) -> str | None:
    if not raw_key.startswith(KEY_PREFIX):
        return None
    rest = raw_key[len(KEY_PREFIX):]
    prefix, separator, secret = rest.partition("_")
    if not separator or len(prefix) != _PREFIX_LENGTH or len(secret) < 32:
        return None
    return prefix


def _scopes_clean(scopes: Iterable[str]) -> list[str]:
    scopes = list(dict.fromkeys(scopes))
    if not scopes:
        raise ApiKeyInvalid(_("Choose at least one scope."), field="scopes")
    unknown = [scope for scope in scopes if scope not in ApiKeyScope.values]
    if unknown:
        raise ApiKeyInvalid(_("Unknown scope(s) %(unknown)s; choose from %(known)s.") % {"unknown": ', '.join(unknown), "known": ', '.join(ApiKeyScope.values)},
                            field="scopes")
    return scopes


def api_key_create(*, tenant: Tenant, name: str, scopes: Iterable[str], actor: Actor) -> tuple[ApiKey, str]:
    """Makes a key for the tenant. Returns it with the raw key, which is never stored: show it once."""
    name = name.strip()
    if not name:
        raise ApiKeyInvalid(_("A key needs a name."), field="name")
    if len(name) > 100:
        raise ApiKeyInvalid(_("The name is longer than 100 characters."), field="name")
    scopes = _scopes_clean(scopes)
    with tenant_scope(tenant):
        for attempt in range(3):
            prefix = secrets.token_hex(_PREFIX_LENGTH // 2)
            raw_key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
            try:
                # Prefixes are unique across tenants (the lookup needs that), and RLS hides other
                # tenants' keys, so a clash (1 in 4 billion) shows only as the constraint firing.
                with transaction.atomic():
                    api_key = ApiKey.objects.create(tenant=tenant, name=name, prefix=prefix, scopes=scopes,
                                                    created_by_id=actor.user_id)
                    secret_store(kind=API_KEY, owner_id=api_key.pk, owner_tenant_id=tenant.pk, prefix=prefix,
                                 raw_secret=raw_key)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        audit_record(action="api_key.create", actor=actor, tenant=tenant, target_type="api_key",
                     target_id=api_key.public_id, details={"name": name, "prefix": prefix, "scopes": scopes})
    return api_key, raw_key


def api_key_revoke(*, tenant: Tenant, api_key: ApiKey, actor: Actor) -> ApiKey:
    """Revokes the key at once; revoking a revoked key changes nothing and records nothing."""
    with tenant_scope(tenant):
        api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            audit_record(action="api_key.revoke", actor=actor, tenant=tenant, target_type="api_key",
                         target_id=api_key.public_id, details={"name": api_key.name, "prefix": api_key.prefix})
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key with this secret, with its tenant, or None. Records its use.

    The database answers which key and tenant the secret belongs to (portal.api.secrets), so the
    key is then read in its own tenant's scope: authentication reads across no tenant."""
    prefix = _prefix_of(raw_key)
    if prefix is None:
        return None
    owner = secret_owner(kind=API_KEY, prefix=prefix, raw_secret=raw_key)
    if owner is None:
        return None
    api_key_id, tenant_id = owner
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    with tenant_scope(tenant):
        api_key = ApiKey.objects.select_related("tenant").filter(pk=api_key_id, revoked_at__isnull=True).first()
        if api_key is not None:
            _last_used_touch(api_key=api_key)
    return api_key


def _last_used_touch(*, api_key: ApiKey) -> None:
    # SKIP LOCKED: a request never waits for another request of the same key to commit; the
    # row is written at most once a minute, outside the request's own tenant transaction, so a
    # request that fails still counts as a use.
    with scope_connection().cursor() as cursor:
        cursor.execute(
            """
            UPDATE api_apikey SET last_used_at = now() WHERE id IN (
                SELECT id FROM api_apikey
                WHERE id = %s AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => %s))
                FOR UPDATE SKIP LOCKED)
            """,
            [api_key.pk, _LAST_USED_RESOLUTION_SECONDS],
        )


def tenant_api_settings_set(*, tenant: Tenant, rate_limit_per_key: str = "", rate_limit_per_tenant: str = "",
                            actor: Actor) -> TenantApiSettings:
    """Overrides the platform's rate limits for one tenant (empty: the platform default)."""
    for field, value in (("rate_limit_per_key", rate_limit_per_key), ("rate_limit_per_tenant", rate_limit_per_tenant)):
        if value:
            try:
                rate_parse(value)
            except ValueError as err:
                raise ApiKeyInvalid(str(err), field=field) from err
    with tenant_scope(tenant):
        api_settings, _created = TenantApiSettings.objects.update_or_create(
            tenant=tenant, defaults={"rate_limit_per_key": rate_limit_per_key,
                                     "rate_limit_per_tenant": rate_limit_per_tenant})
        audit_record(action="api_settings.update", actor=actor, tenant=tenant, target_type="tenant",
                     target_id=tenant.slug, details={"rate_limit_per_key": rate_limit_per_key,
                                                   "rate_limit_per_tenant": rate_limit_per_tenant})
    return api_settings


def idempotency_record_store(*, owner: dict, key: str, method: str, path: str, fingerprint: str,
                             response_status: int, response_body: Any) -> IdempotencyRecord:
    """Stores a successful response for retries, in the request's own transaction: if the request
    rolls back, so does this. `owner` is {"tenant", "api_key"} for a tenant's request or
    {"tenant": None, "staff_user"} for an operator's. Raises IntegrityError when a concurrent
    request stored the same key."""
    with scope_atomic():
        expired_before = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
        namespace = {name: owner[name] for name in ("tenant", "staff_user") if name in owner}
        IdempotencyRecord.objects.filter(**namespace, key=key, created_at__lt=expired_before).delete()
        return IdempotencyRecord.objects.create(
            **owner, key=key, method=method, path=path[:500], fingerprint=fingerprint,
            response_status=response_status, response_body=response_body,
        )


def idempotency_records_expire(*, tenant: Tenant | None = None, older_than=None) -> int:
    """Deletes stored responses past the replay window (API_IDEMPOTENCY_HOURS): one tenant's, or
    with no tenant every tenant's (the hourly schedule). They copy gallery data, so they are not
    kept a moment longer than retries need them."""
    older_than = older_than or timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
    scope = tenant_scope(tenant) if tenant is not None else dangerously_unscoped(
        reason="expiring stored API responses of every tenant")
    with scope:
        deleted, _by_model = IdempotencyRecord.objects.filter(created_at__lt=older_than).delete()
    return deleted


# Where stored responses name a face: "face_uuid" in a search's matches, "uuid" in an image
# record's faces (portal/api/serializers.py).
_FACE_REFERENCES = ("(SELECT array_agg(v #>> '{}') FROM ("
                    " SELECT jsonb_path_query(r.response_body, 'lax $.**.face_uuid') v"
                    " UNION ALL SELECT jsonb_path_query(r.response_body, 'lax $.**.uuid')) refs)")


def idempotency_records_forget_faces(*, face_uuids: list[str], **signal_kwargs) -> dict[int, int]:
    """Receiver of gallery.signals.faces_deleted: deletes the stored responses that mention any of
    the faces, in the deleting transaction and within its scope (RLS), so a replayed request can
    never show a face that is gone. Returns {tenant id: responses deleted}."""
    if not face_uuids:
        return {}
    return _deleted_per_tenant(f"DELETE FROM api_idempotencyrecord r WHERE {_FACE_REFERENCES} && %s::text[]"
                               f" RETURNING tenant_id", [list(face_uuids)])


def idempotency_records_forget_searches(*, search_public_ids: list[str], **signal_kwargs) -> int:
    """Receiver of search.signals.search_results_erased: deletes the stored responses of those
    searches (a search's creation answers with the search, its id at the top), in the erasing
    transaction and scope. Returns how many."""
    with scope_connection().cursor() as cursor:
        cursor.execute("DELETE FROM api_idempotencyrecord WHERE response_body->>'id' = ANY(%s)",
                       [list(search_public_ids)])
        return cursor.rowcount


def idempotency_records_forget_tenants(*, tenant_ids: list[int], **signal_kwargs) -> dict[int, int]:
    """Receiver of gallery.signals.gallery_erased: deletes every stored response of the tenants
    (offboarding). Run unscoped."""
    return _deleted_per_tenant("DELETE FROM api_idempotencyrecord WHERE tenant_id = ANY(%s) RETURNING tenant_id",
                               [list(tenant_ids)])


def _deleted_per_tenant(sql: str, params: list) -> dict[int, int]:
    """Runs a DELETE ... RETURNING tenant_id and counts the rows per tenant."""
    with scope_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return dict(Counter(tenant_id for (tenant_id,) in cursor.fetchall()))


def idempotency_records_dangling_count(*, tenant_ids: list[int] | None = None, any_copy: bool = False,
                                       **signal_kwargs) -> int:
    """Receiver of gallery.signals.copies_dangling_count: stored responses (of the given tenants,
    or all in scope) that mention a face which no longer exists, or with `any_copy` every stored
    response of the tenants: what a complete deletion leaves none of."""
    if any_copy:
        return IdempotencyRecord.objects.filter(tenant_id__in=tenant_ids or []).count()
    tenants_sql, params = ("AND r.tenant_id = ANY(%s)", [list(tenant_ids)]) if tenant_ids is not None else ("", [])
    with scope_connection().cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM api_idempotencyrecord r WHERE EXISTS ("
            " SELECT 1 FROM unnest(" + _FACE_REFERENCES + ") ref WHERE NOT EXISTS ("
            "  SELECT 1 FROM gallery_face f"
            "  WHERE f.uuid = CASE WHEN ref ~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN ref::uuid END))" + tenants_sql, params)
        return cursor.fetchone()[0]

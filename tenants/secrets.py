"""Key and token hashes the application stores and checks but never reads back.

They live in `portal_secret` (tenants/0006), on which the application's database role has no
privilege. `secret_store` adds one through `portal_secret_set()`, which refuses to replace a hash
already there; `secret_owner` asks `portal_secret_verify()` which key a presented secret is. So
SQL run as the application can neither read a hash nor swap in one it knows.
"""

from __future__ import annotations

import hashlib
from tenants.context import scope_connection


# The kinds of secret (portal_secret.kind).
API_KEY = "api_key"
STAFF_TOKEN = "staff_token"


def secret_hash(raw_secret: str) -> str:
    return hashlib.sha256(raw_secret.encode()).hexdigest()


def secret_store(*, kind: str, owner_id: int, owner_tenant_id: int | None, prefix: str, raw_secret: str) -> None:
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT portal_secret_set(%s, %s, %s, %s, %s)",
                       [kind, owner_id, owner_tenant_id, prefix, secret_hash(raw_secret)])


def secret_owner(*, kind: str, prefix: str, raw_secret: str) -> tuple[int, int | None] | None:
    """(owner id, owner's tenant id) of the key whose prefix and hash match, or None."""
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT owner_id, owner_tenant_id FROM portal_secret_verify(%s, %s, %s)",
                       [kind, prefix, secret_hash(raw_secret)])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None

"""The signed claim that row-level security trusts, instead of plain settings.

A request or task in scope sets four settings (`portal.scope`, `portal.tenant_id`,
`portal.platform_index`, `portal.user_id`) and `portal.claim`: an HMAC-SHA256 over those four
values, the server process id and the transaction's start time, keyed with `RLS_CLAIM_KEY`. The
policies' functions recompute it with a copy of the key in `portal_claim_key`, a table that only
the table owner can read, through one `SECURITY DEFINER` function that answers yes or no.

So SQL run as the application's role (an injection, a compromised query) can set any setting it
likes and still sees no tenant's rows: it cannot read the key to sign a claim, and a claim it
reads from its own transaction is bound to that transaction, on that server process, for the
tenant already in scope. The owner (migrations, maintenance, benchmarks) may still declare
`portal.scope = 'all'` unsigned: it could lift row-level security anyway.

PostgreSQL's built-in `sha256()` computes the HMAC, with the key stored as its two pads
(key XOR ipad, key XOR opad), so no extension is needed. The SQL side is in
tenants/migrations/0004_signed_claims.py.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

KEY_TABLE = "portal_claim_key"

_BLOCK = 64  # SHA-256's block size, the HMAC pad length


def claim_key() -> bytes:
    return hashlib.sha256(b"portal.rls-claim|" + settings.RLS_CLAIM_KEY.encode()).digest()


def claim_pads(key: bytes) -> tuple[bytes, bytes]:
    padded = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)


def claim_message(*, scope: str, tenant_id: str, platform_index: str, user_id: str, backend_pid: int,
                  transaction_started: int) -> bytes:
    """What the claim signs; `portal_claim_valid()` builds the same bytes from the settings."""
    return "|".join([scope, tenant_id, platform_index, user_id, str(backend_pid), str(transaction_started)]).encode()


def claim_sign(message: bytes) -> str:
    return hmac.new(claim_key(), message, hashlib.sha256).hexdigest()


def claim_key_install(*, connection) -> None:
    """Writes the current key's pads into the owner-only table (run by `migrate`, as the owner),
    so changing RLS_CLAIM_KEY (or the SECRET_KEY it defaults from) takes effect on the next migrate."""
    inner, outer = claim_pads(claim_key())
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [KEY_TABLE])
        if not cursor.fetchone()[0]:
            return  # migrated to a point before tenants/0004
        cursor.execute(
            f"INSERT INTO {KEY_TABLE} (id, inner_pad, outer_pad) VALUES (1, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET inner_pad = EXCLUDED.inner_pad, outer_pad = EXCLUDED.outer_pad",
            [inner, outer],
        )


PLATFORM_ROLE_TABLE = "portal_platform_role"


def platform_role_install(*, connection) -> None:
    """Names the `platform` alias's login role as the one whose sessions may hold the platform
    scope (tenants/0010); run by `migrate` as the owner, so it follows PLATFORM_DATABASE_URL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [PLATFORM_ROLE_TABLE])
        if not cursor.fetchone()[0]:
            return  # migrated to a point before tenants/0010
        cursor.execute(f"DELETE FROM {PLATFORM_ROLE_TABLE}")
        cursor.execute(f"INSERT INTO {PLATFORM_ROLE_TABLE} (rolname) VALUES (%s)", [settings.DATABASE_PLATFORM_ROLE])


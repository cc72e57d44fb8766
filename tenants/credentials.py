"""Password checks without reading password hashes.

The hashes live in `tenants_credential`, on which the application's database role has no
privilege at all (portal.core's migrate withholds it); Django's own `tenants_user.password`
column stays empty. Three SECURITY DEFINER functions (tenants/migrations/0005_password_hidden.py)
stand in: `portal_password_set()` stores a hash; `portal_password_parameters()` gives the hash's
public part (algorithm, iterations, salt), from which the password typed is hashed here; and
`portal_password_matches()` answers yes or no for that user. So SQL run as the application (an
injection) can test one guess at a time at the full cost of the hasher, and never copy the hashes
away to crack them offline. (It can still set a password, as the application must.)

Hashers whose encode() takes the salt (and iterations) from the stored hash are supported: the
PBKDF2 family (Django's default) and the salted test hashers. A hasher that takes its cost from
settings (Argon2, bcrypt) would compare unequal after a cost change; the portal does not use one.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import identify_hasher
from django.contrib.auth.tokens import PasswordResetTokenGenerator

from tenants.context import dangerously_unscoped, scope_connection

_PLACEHOLDER_HASH = "$0"


def credential_stamp_new() -> str:
    """A random value that changes with the password: sessions and reset links are bound to it
    instead of to the password hash."""
    return secrets.token_hex(16)


def password_matches(*, user_id: int | None, raw_password: str | None) -> bool:
    if user_id is None or raw_password is None:
        return False
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT portal_password_parameters(%s)", [user_id])
        parameters = cursor.fetchone()[0]
        if parameters is None:
            return False
        try:
            hasher = identify_hasher(parameters + _PLACEHOLDER_HASH)
            decoded = hasher.decode(parameters + _PLACEHOLDER_HASH)
        except ValueError:
            return False
        cost = {"iterations": decoded["iterations"]} if "iterations" in decoded else {}
        candidate = hasher.encode(raw_password, decoded["salt"], **cost)
        cursor.execute("SELECT portal_password_matches(%s, %s)", [user_id, candidate])
        return bool(cursor.fetchone()[0])


def password_store(*, user_id: int, encoded: str) -> None:
    # The function stores a hash only under the platform's claim: an injected call cannot.
    with dangerously_unscoped(reason="storing a password hash"), scope_connection().cursor() as cursor:
        cursor.execute("SELECT portal_password_set(%s, %s)", [user_id, encoded])


def password_usable(*, user_id: int | None) -> bool:
    if user_id is None:
        return False
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT portal_password_parameters(%s) IS NOT NULL", [user_id])
        return bool(cursor.fetchone()[0])


class StampedTokenGenerator(PasswordResetTokenGenerator):
    """Password reset links bound to the credential stamp (Django's own generator hashes the
    password hash, which the application cannot read). A reset, or any password change, changes
    the stamp and so spends every link given out before."""

    def _make_hash_value(self, user, timestamp):
        login_at = "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}{user.credential_stamp}{login_at}{timestamp}{user.email}"


password_reset_tokens = StampedTokenGenerator()

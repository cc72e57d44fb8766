"""Operators' TOTP secrets sealed at rest, and backup codes kept as keyed hashes (portal.sealing).

django-otp keeps a TOTP device's secret in clear, in a column the application's database role
reads, so one injected query would hand an attacker who also knows a password the operator's
second factor. The secret is stored sealed instead, with the device's user id as associated
data: a sealed secret copied onto another user's device does not open, and a secret written in
clear does not open either.
"""

from __future__ import annotations

from portal.sealing import SealBroken, is_sealed, keyed_digest
from portal.sealing import seal as _seal
from portal.sealing import unseal as _unseal

__all__ = ["SealBroken", "backup_code_digest", "is_sealed", "seal", "unseal"]

_TOTP = "otp_totp.key"


def _context(user_id: int) -> bytes:
    return f"otp_totp:{user_id}".encode()


def seal(*, hex_key: str, user_id: int) -> str:
    return _seal(bytes.fromhex(hex_key), purpose=_TOTP, context=_context(user_id))


def unseal(*, value: str, user_id: int) -> bytes:
    return _unseal(value, purpose=_TOTP, context=_context(user_id))


def backup_code_digest(code: str) -> str:
    """What django-otp's table keeps of a backup code: a keyed hash, cut to the column's 16
    characters, so the codes can be neither read back nor brute-forced from the table."""
    return keyed_digest(code, purpose="otp_static.token")[:16]

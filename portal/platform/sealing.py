"""Operators' TOTP secrets sealed at rest.

django-otp keeps a TOTP device's secret in clear, in a column the application's database role
reads, so one injected query would hand an attacker who also knows a password the operator's
second factor. Secrets are stored sealed instead: AES-GCM (the `cryptography` package) under a
key derived from TOTP_SEAL_KEY, which lives in the environment, never in the database. The
device's user id is the associated data, so a sealed secret copied onto another user's device
does not open; a secret written in clear does not open either. Changing TOTP_SEAL_KEY (or the
SECRET_KEY it defaults from) means every operator enrols again.

Backup codes (django-otp's static tokens) are kept as keyed hashes under the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from base64 import urlsafe_b64decode, urlsafe_b64encode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "sealed1:"


class SealBroken(ValueError):
    """A stored secret that is not sealed, or not sealed with this key for this user."""


def _aead() -> AESGCM:
    return AESGCM(hashlib.sha256(b"portal.totp-seal|" + settings.TOTP_SEAL_KEY.encode()).digest())


def _context(user_id: int) -> bytes:
    return f"otp_totp:{user_id}".encode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(*, hex_key: str, user_id: int) -> str:
    nonce = os.urandom(12)
    sealed = nonce + _aead().encrypt(nonce, bytes.fromhex(hex_key), _context(user_id))
    return PREFIX + urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(*, value: str, user_id: int) -> bytes:
    if not is_sealed(value):
        raise SealBroken("The TOTP secret is not sealed.")
    raw = value[len(PREFIX):]
    data = urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    try:
        return _aead().decrypt(data[:12], data[12:], _context(user_id))
    except InvalidTag as broken:
        raise SealBroken("The TOTP secret does not open with this key for this user.") from broken


def backup_code_digest(code: str) -> str:
    """What django-otp's table keeps of a backup code: a keyed hash, cut to the column's 16
    characters, so the codes can be neither read back nor brute-forced from the table."""
    key = hashlib.sha256(b"portal.backup-codes|" + settings.TOTP_SEAL_KEY.encode()).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()[:16]

"""Values sealed at rest with a key the database never holds.

Some values must be readable by the portal but not by SQL run as its database role (an
injection): operators' TOTP secrets, opt-out requesters' names and contacts. They are sealed with
AES-GCM (the `cryptography` package, a maintained library rather than hand-written crypto) under
a key derived from SEAL_KEY, which lives in the environment. Each use has its own `purpose`
(a separate derived key), and may bind the value to its row with `context` (associated data), so
a sealed value copied elsewhere does not open. Changing SEAL_KEY (or the SECRET_KEY it defaults
from) makes every sealed value unreadable: operators enrol their phones again, and opt-out
contacts read as empty.

`SealedTextField` seals a model field on save and opens it on load.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from base64 import urlsafe_b64decode, urlsafe_b64encode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import models

PREFIX = "sealed1:"
log = logging.getLogger(__name__)


class SealBroken(ValueError):
    """A stored value that is not sealed, or not sealed with this key for this purpose and context."""


def _key(purpose: str) -> bytes:
    return hashlib.sha256(f"portal.seal|{purpose}|".encode() + settings.SEAL_KEY.encode()).digest()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(plaintext: bytes, *, purpose: str, context: bytes = b"") -> str:
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(_key(purpose)).encrypt(nonce, plaintext, context)
    return PREFIX + urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(value: str, *, purpose: str, context: bytes = b"") -> bytes:
    if not is_sealed(value):
        raise SealBroken("The value is not sealed.")
    raw = value[len(PREFIX):]
    data = urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    try:
        return AESGCM(_key(purpose)).decrypt(data[:12], data[12:], context)
    except InvalidTag as broken:
        raise SealBroken("The value does not open with this key here.") from broken


def keyed_digest(data: str, *, purpose: str) -> str:
    """A keyed hash (HMAC-SHA256) of a value that is only ever compared, never read back."""
    return hmac.new(_key(purpose), data.encode(), hashlib.sha256).hexdigest()


class SealedTextField(models.TextField):
    """Text stored sealed: the database (and SQL run as the application) sees only ciphertext.
    It cannot be filtered on. A value that does not open (another key; written in clear by SQL)
    loads as empty, with a warning in the log."""

    def __init__(self, *args, purpose: str, **kwargs):
        self.purpose = purpose
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, path, args, {**kwargs, "purpose": self.purpose}

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            return unseal(value, purpose=self.purpose).decode()
        except SealBroken:
            log.warning("A sealed %s did not open; shown as empty.", self.purpose)
            return ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "" or is_sealed(value):
            return value
        return seal(value.encode(), purpose=self.purpose)

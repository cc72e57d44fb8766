"""Signed documents anyone can check offline: certificates, signed audit heads.

A signed file is the canonical JSON (keys sorted, UTF-8, no whitespace) of

    {"signature": "<base64 Ed25519 signature>",
     "signed": {"algorithm": "Ed25519", "key_id": "...", "signed_at": "...", "document": {..., "type": "..."}}}

and the signature covers the canonical JSON of the "signed" member, so the time and the key are
signed with the document. The file itself must be byte for byte canonical: a changed space,
digit or letter anywhere makes it fail, not only a changed value. Canonical JSON holds no
floating-point number (JSON tools write them differently: 1.0 or 1): a float is signed as its
decimal string. Integers stay below 2**53 (ids and counts), which every JSON tool reads exactly.

This module needs only the `cryptography` package (and Django's gettext for its messages), no
database: it is what `manage.py certificate_verify` runs, and docs/compliance.md shows the same
check in a few lines of Python or with jq and OpenSSL 3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils.translation import gettext as _

ALGORITHM = "Ed25519"
KEYS_FORMAT = "portal-signing-keys/1"


class SignatureInvalid(ValueError):
    """A file that is not a genuine signed document under one of the given keys."""


def _floats_as_strings(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {str(key): _floats_as_strings(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_floats_as_strings(item) for item in value]
    return value


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key_raw(public_key)).hexdigest()[:16]


def public_key_raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def document_sign(*, document: dict, private_key: Ed25519PrivateKey, signed_at: datetime) -> bytes:
    """The signed file (bytes) of `document`, which names its kind in "type"."""
    if not isinstance(document.get("type"), str):
        raise ValueError("A signed document names its type.")
    signed = {"algorithm": ALGORITHM, "key_id": key_id_of(private_key.public_key()),
              "signed_at": signed_at.isoformat(), "document": _floats_as_strings(document)}
    signature = base64.b64encode(private_key.sign(canonical_bytes(signed))).decode()
    return canonical_bytes({"signature": signature, "signed": signed})


@dataclass(frozen=True)
class PublishedKey:
    key_id: str
    public_key: Ed25519PublicKey
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True)
class VerifiedDocument:
    document: dict
    key_id: str
    signed_at: datetime

    @property
    def type(self) -> str:
        return self.document["type"]


def _time(value: Any, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as bad:
        raise SignatureInvalid(_("%(what)s is not a time: %(value)r.") % {"what": what, "value": value}) from bad
    if moment.tzinfo is None:
        raise SignatureInvalid(_("%(what)s has no time zone: %(value)r.") % {"what": what, "value": value})
    return moment


def keys_parse(data: bytes | str | dict) -> list[PublishedKey]:
    """The keys of a saved copy of the published keys file (/.well-known/portal-signing-keys.json)."""
    try:
        published = data if isinstance(data, dict) else json.loads(data)
        entries = published["keys"]
        keys = []
        for entry in entries:
            raw = base64.b64decode(entry["public_key"], validate=True)
            public_key = Ed25519PublicKey.from_public_bytes(raw)
            if key_id_of(public_key) != entry["key_id"]:
                raise SignatureInvalid(_("Key %(key)s does not match its public key.") % {"key": entry["key_id"]})
            keys.append(PublishedKey(
                key_id=entry["key_id"], public_key=public_key, valid_from=_time(entry["valid_from"], "valid_from"),
                valid_until=_time(entry["valid_until"], "valid_until") if entry.get("valid_until") else None))
    except SignatureInvalid:
        raise
    except (ValueError, KeyError, TypeError, binascii.Error) as bad:
        raise SignatureInvalid(_("The keys file is not a list of published signing keys (%(why)s).")
                               % {"why": bad}) from bad
    return keys


def document_verify(*, data: bytes, keys: list[PublishedKey]) -> VerifiedDocument:
    """The document of a genuine signed file, or SignatureInvalid saying what is wrong: not
    canonical (a byte changed outside the values), signed by an unknown key, signed outside the
    key's validity period, or a signature that does not match (a value changed)."""
    try:
        text = data.decode("utf-8")
        envelope = json.loads(text)
    except (UnicodeDecodeError, ValueError) as bad:
        raise SignatureInvalid(_("The file is not JSON (%(why)s).") % {"why": bad}) from bad
    if not (isinstance(envelope, dict) and set(envelope) == {"signature", "signed"}
            and isinstance(envelope["signed"], dict)
            and set(envelope["signed"]) == {"algorithm", "key_id", "signed_at", "document"}):
        raise SignatureInvalid(_("The file is not a signed document: it must hold exactly "
                                 "\"signature\" and \"signed\" (algorithm, key_id, signed_at, document)."))
    if data not in (canonical_bytes(envelope), canonical_bytes(envelope) + b"\n"):
        raise SignatureInvalid(_("The file is not in canonical form: it was changed after signing "
                                 "(spacing, escaping or order)."))
    signed = envelope["signed"]
    if signed["algorithm"] != ALGORITHM:
        raise SignatureInvalid(_("Unknown algorithm %(algorithm)r.") % {"algorithm": signed["algorithm"]})
    try:
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (TypeError, ValueError, binascii.Error) as bad:
        raise SignatureInvalid(_("The signature is not base64.")) from bad
    if base64.b64encode(signature).decode() != envelope["signature"]:
        raise SignatureInvalid(_("The signature is not in canonical base64."))
    key = next((key for key in keys if key.key_id == signed["key_id"]), None)
    if key is None:
        raise SignatureInvalid(_("Signed by key %(key)r, which is not among the published keys.")
                               % {"key": signed["key_id"]})
    signed_at = _time(signed["signed_at"], "signed_at")
    try:
        key.public_key.verify(signature, canonical_bytes(signed))
    except InvalidSignature as forged:
        raise SignatureInvalid(_("The signature does not match the content under key %(key)s: the file was "
                                 "changed, or signed by another key.") % {"key": key.key_id}) from forged
    if signed_at < key.valid_from or (key.valid_until is not None and signed_at >= key.valid_until):
        raise SignatureInvalid(_("Signed at %(at)s, outside key %(key)s's validity (%(start)s to %(end)s).") % {
            "at": signed_at.isoformat(), "key": key.key_id, "start": key.valid_from.isoformat(),
            "end": key.valid_until.isoformat() if key.valid_until else _("now")})
    document = signed["document"]
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise SignatureInvalid(_("The signed document names no type."))
    return VerifiedDocument(document=document, key_id=key.key_id, signed_at=signed_at)

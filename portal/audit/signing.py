"""The operator's Ed25519 signing keys: certificates and audit heads are signed with them.

The private key is a PEM file (SIGNING_KEY_FILE, default var/signing/ed25519.pem, mode 0600, in a
0700 folder), created on first use; the database keeps only public keys with their validity
periods (SigningKey), published at /.well-known/portal-signing-keys.json. `manage.py
signing_key_rotate` makes a new key and ends the old one's validity; documents signed earlier
still verify, since their key was valid when they were signed.

The file and the table must agree: a file whose key the table does not know (copied from another
installation, or replaced by hand) or a retired key signs nothing. A missing file is recreated
only while no key has ever been published; after that, losing it means rotating.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from portal.audit.models import SigningKey
from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.signatures import KEYS_FORMAT, document_sign, key_id_of, public_key_pem, public_key_raw
from tenants.context import dangerously_unscoped, scope_atomic


class SigningKeyProblem(DomainError):
    code = "signing_key_problem"
    status = 503


def _key_file() -> Path:
    return Path(settings.SIGNING_KEY_FILE)


def _key_write(*, private_key: Ed25519PrivateKey, replace: bool) -> None:
    """Writes the key file with mode 0600 from the start (never readable by others, even briefly);
    without `replace`, fails if another process created it first."""
    path = _key_file()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    target = path.with_name(path.name + ".new") if replace else path
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
        file.flush()
        os.fsync(file.fileno())
    if replace:
        os.replace(target, path)


def _key_read() -> Ed25519PrivateKey | None:
    try:
        pem = _key_file().read_bytes()
    except FileNotFoundError:
        return None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as unreadable:
        raise SigningKeyProblem(gettext("%(file)s holds no private key.") % {"file": _key_file()}) from unreadable
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyProblem(gettext("%(file)s holds no Ed25519 key.") % {"file": _key_file()})
    return key


def _published(private_key: Ed25519PrivateKey, *, valid_from: datetime) -> SigningKey:
    public = private_key.public_key()
    return SigningKey.objects.create(key_id=key_id_of(public), valid_from=valid_from,
                                     public_key=base64.b64encode(public_key_raw(public)).decode())


def signing_key_current() -> tuple[Ed25519PrivateKey, SigningKey]:
    """The private key to sign with and its published row; creates both on first use."""
    with dangerously_unscoped(reason="the operator's signing keys are a platform table"), scope_atomic():
        current = SigningKey.objects.select_for_update().filter(valid_until__isnull=True).first()
        private_key = _key_read()
        if private_key is None and current is None and not SigningKey.objects.exists():
            try:
                _key_write(private_key=Ed25519PrivateKey.generate(), replace=False)
            except FileExistsError:
                pass  # another process made it first: use that one
            private_key = _key_read()
        if private_key is None:
            raise SigningKeyProblem(gettext(
                "The signing key file %(file)s is missing. Documents cannot be signed until "
                "`manage.py signing_key_rotate` makes a new key.") % {"file": _key_file()})
        key_id = key_id_of(private_key.public_key())
        if current is None and not SigningKey.objects.exists():
            current = _published(private_key, valid_from=timezone.now())
            audit_record(action="signing_key.create", actor=Actor.system("signing key"), target_type="signing_key",
                         target_id=key_id, details={"key_id": key_id, "valid_from": current.valid_from.isoformat()})
        if current is None or current.key_id != key_id:
            raise SigningKeyProblem(gettext(
                "The signing key file %(file)s holds key %(key_id)s, which is not the current published key. "
                "Restore the right file, or run `manage.py signing_key_rotate`.") % {"file": _key_file(),
                                                                                    "key_id": key_id})
        return private_key, current


def signing_key_rotate(*, actor: Actor) -> SigningKey:
    """A new key, valid from now; the old one's validity ends now. The new file is written inside
    the transaction: if it cannot be written, nothing changes."""
    new_key = Ed25519PrivateKey.generate()
    with dangerously_unscoped(reason="rotating the operator's signing key"), scope_atomic():
        now = timezone.now()
        old = SigningKey.objects.select_for_update().filter(valid_until__isnull=True).first()
        if old is not None:
            old.valid_until = now
            old.save(update_fields=["valid_until"])
        published = _published(new_key, valid_from=now)
        audit_record(action="signing_key.rotate", actor=actor, target_type="signing_key", target_id=published.key_id,
                     details={"key_id": published.key_id, "retired_key_id": old.key_id if old else None,
                              "valid_from": now.isoformat()})
        _key_write(private_key=new_key, replace=True)
    return published


def document_sign_now(*, document: dict) -> bytes:
    """The signed file of `document` under the current key, signed now."""
    private_key, _row = signing_key_current()
    return document_sign(document=document, private_key=private_key, signed_at=timezone.now())


def signing_keys_published() -> dict:
    """The public keys file: every key ever used, with its validity period."""
    with dangerously_unscoped(reason="publishing the operator's public signing keys"):
        rows = list(SigningKey.objects.order_by("valid_from"))
    keys = []
    for row in rows:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(row.public_key))
        keys.append({"key_id": row.key_id, "algorithm": "Ed25519", "public_key": row.public_key,
                     "public_key_pem": public_key_pem(public), "valid_from": row.valid_from.isoformat(),
                     "valid_until": row.valid_until.isoformat() if row.valid_until else None})
    return {"format": KEYS_FORMAT, "keys": keys}

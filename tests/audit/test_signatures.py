"""Signed certificates: genuine files verify (function and command, offline against a saved copy
of the published keys); any changed byte, another key, or a key outside its validity fails."""

import json
import os
import stat
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.utils import timezone

from portal.audit.models import AuditEvent, SigningKey
from portal.audit.services import Actor
from portal.audit.signing import (SigningKeyProblem, document_sign_now, signing_key_current, signing_key_rotate,
                                  signing_keys_published)
from portal.signatures import (SignatureInvalid, canonical_bytes, document_sign, document_verify, key_id_of,
                               keys_parse)
from tenants.context import dangerously_unscoped

pytestmark = pytest.mark.django_db

CERTIFICATE = {
    "type": "regulatory-order-enforcement/1", "certificate": "regulatory-order-enforcement/1",
    "order": {"id": 7, "authority": "CNIL", "reference": "SAN-2026-001 é ü \"q\"", "regions": ["FR", "DE"],
              "match_threshold": 0.9, "scope_all": True, "domains": []},
    "totals": {"deleted": {"images": 12, "faces": 12}}, "verification": {"passed": True, "files_remaining": 0},
    "audit_chain_head": {"chain": "platform", "position": 42, "hash": "ab" * 32},
    "issued_at": "2026-11-23T10:00:00+00:00",
}


def _keys():
    return keys_parse(signing_keys_published())


def _changed(data: bytes, index: int, new: int) -> bytes:
    return data[:index] + bytes([new]) + data[index + 1:]


def test_a_genuine_certificate_verifies_and_its_key_file_is_private(settings):
    data = document_sign_now(document=CERTIFICATE)
    verified = document_verify(data=data, keys=_keys())
    assert verified.document["order"]["reference"] == CERTIFICATE["order"]["reference"]
    assert verified.document["order"]["match_threshold"] == "0.9"  # floats are signed as decimal strings
    assert data == canonical_bytes(json.loads(data))
    assert document_verify(data=data + b"\n", keys=_keys()).key_id == verified.key_id  # as an editor saves it
    assert stat.S_IMODE(os.stat(settings.SIGNING_KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.SIGNING_KEY_FILE.parent).st_mode) == 0o700


def test_changing_any_byte_of_the_file_fails():
    data = document_sign_now(document=CERTIFICATE)
    keys = _keys()
    accepted = []
    for index in range(len(data)):
        for new in {data[index] ^ 0x01, data[index] ^ 0x20, ord(" "), ord("0")} - {data[index]}:
            try:
                document_verify(data=_changed(data, index, new), keys=keys)
            except SignatureInvalid:
                continue
            accepted.append((index, chr(data[index]), chr(new)))
    assert accepted == []
    assert len(data) > 500  # every field, the signature, the signed time and the key id were covered
    for inserted in (b" ", b"\n"):  # whitespace added inside the file
        assert pytest.raises(SignatureInvalid, document_verify, data=data.replace(b",", b"," + inserted, 1),
                             keys=keys)


def test_a_file_signed_by_another_key_fails():
    document_sign_now(document=CERTIFICATE)  # publishes this portal's key
    stranger = Ed25519PrivateKey.generate()
    foreign = document_sign(document=CERTIFICATE, private_key=stranger, signed_at=timezone.now())
    with pytest.raises(SignatureInvalid, match="not among the published keys"):
        document_verify(data=foreign, keys=_keys())
    # The same, claiming our key's id: the signature does not match.
    envelope = json.loads(foreign)
    envelope["signed"]["key_id"] = _keys()[0].key_id
    envelope["signature"] = __import__("base64").b64encode(stranger.sign(canonical_bytes(envelope["signed"]))).decode()
    with pytest.raises(SignatureInvalid, match="does not match"):
        document_verify(data=canonical_bytes(envelope), keys=_keys())


def test_rotation_keeps_old_certificates_verifiable_and_a_retired_key_signs_nothing_valid():
    old_private, old_row = signing_key_current()
    old_file = document_sign_now(document=CERTIFICATE)
    new_row = signing_key_rotate(actor=Actor.system("test"))
    assert new_row.key_id != old_row.key_id
    new_file = document_sign_now(document=CERTIFICATE)
    keys = _keys()
    assert document_verify(data=old_file, keys=keys).key_id == old_row.key_id
    assert document_verify(data=new_file, keys=keys).key_id == new_row.key_id
    published = {key["key_id"]: key for key in signing_keys_published()["keys"]}
    assert published[old_row.key_id]["valid_until"] == new_row.valid_from.isoformat()
    assert published[new_row.key_id]["valid_until"] is None
    # The retired key (say, stolen later) signing now: outside its validity.
    late = document_sign(document=CERTIFICATE, private_key=old_private, signed_at=timezone.now())
    with pytest.raises(SignatureInvalid, match="outside key"):
        document_verify(data=late, keys=keys)
    early = document_sign(document=CERTIFICATE, private_key=old_private,
                          signed_at=old_row.valid_from - timedelta(seconds=1))
    with pytest.raises(SignatureInvalid, match="outside key"):
        document_verify(data=early, keys=keys)
    with dangerously_unscoped(reason="test"):
        rotation = AuditEvent.objects.get(tenant__isnull=True, action="signing_key.rotate")
    assert rotation.details["retired_key_id"] == old_row.key_id


def test_a_missing_or_foreign_key_file_signs_nothing(settings):
    signing_key_current()
    path = settings.SIGNING_KEY_FILE
    path.unlink()
    with pytest.raises(SigningKeyProblem, match="missing"):
        document_sign_now(document=CERTIFICATE)
    assert not path.exists()  # not silently replaced by a key nobody published
    from cryptography.hazmat.primitives import serialization

    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(SigningKeyProblem, match="not the current published key"):
        document_sign_now(document=CERTIFICATE)
    signing_key_rotate(actor=Actor.system("test"))
    document_verify(data=document_sign_now(document=CERTIFICATE), keys=_keys())


@pytest.mark.django_db(transaction=True)
def test_the_application_role_cannot_plant_a_key_nor_read_the_tenants_heads():
    import psycopg

    from tests.factories import app_role_connect

    with app_role_connect(autocommit=True) as app:
        assert app.execute("SELECT count(*) FROM audit_signingkey").fetchone() == (0,)  # public anyway
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            app.execute("INSERT INTO audit_signingkey (key_id, public_key, valid_from) VALUES ('x', 'x', now())")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            app.execute("SELECT heads FROM audit_signedauditheads")


def test_the_platform_role_writes_keys_only_under_the_platform_claim():
    raw = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(DatabaseError, match="written only by platform code"), transaction.atomic(using="platform"):
        SigningKey.objects.using("platform").create(key_id=key_id_of(raw), public_key="x", valid_from=timezone.now())


def test_the_published_keys_are_public_and_verify_offline_with_the_command(client, tmp_path):
    data = document_sign_now(document=CERTIFICATE)
    response = client.get("/.well-known/portal-signing-keys.json")  # anonymous
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    published = response.json()
    [key] = published["keys"]
    assert key["key_id"] == json.loads(data)["signed"]["key_id"] and key["valid_until"] is None
    assert key["valid_from"] and key["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    keys_file, certificate = tmp_path / "keys.json", tmp_path / "certificate.json"
    keys_file.write_bytes(response.content)
    certificate.write_bytes(data)

    from io import StringIO
    out = StringIO()
    call_command("certificate_verify", str(certificate), "--keys", str(keys_file), stdout=out)
    assert "GENUINE" in out.getvalue() and key["key_id"] in out.getvalue()
    out = StringIO()
    call_command("certificate_verify", str(certificate), stdout=out)  # the database's keys
    assert "GENUINE" in out.getvalue()

    tampered = data.replace(b'"images":12', b'"images":13')
    assert tampered != data
    certificate.write_bytes(tampered)
    keys_before = keys_file.read_bytes()
    with dangerously_unscoped(reason="test"):
        rows_before = (AuditEvent.objects.count(), list(SigningKey.objects.values_list("key_id", "valid_until")))
    with pytest.raises(CommandError, match="NOT GENUINE: The signature does not match"):
        call_command("certificate_verify", str(certificate), "--keys", str(keys_file))
    assert certificate.read_bytes() == tampered and keys_file.read_bytes() == keys_before  # nothing changed
    with pytest.raises(CommandError, match="NOT GENUINE"):
        call_command("certificate_verify", str(certificate))  # against the database's keys
    with dangerously_unscoped(reason="test"):
        assert (AuditEvent.objects.count(),
                list(SigningKey.objects.values_list("key_id", "valid_until"))) == rows_before
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("certificate_verify", str(tmp_path / "absent.json"), "--keys", str(keys_file))


def test_a_key_file_holding_something_else_is_a_clear_error(settings):
    signing_key_current()
    settings.SIGNING_KEY_FILE.write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SigningKeyProblem, match="holds no private key"):
        document_sign_now(document=CERTIFICATE)

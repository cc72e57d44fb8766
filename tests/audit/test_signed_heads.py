"""Signed audit heads: the beat task signs every chain's head, the public file names no tenant, and
a chain rewritten and re-hashed by the database owner (which audit_verify cannot see) is caught by
audit_heads_check against a kept signed head."""

import hashlib
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.audit import tasks
from portal.audit.heads import audit_chain_head_sign, audit_heads_check
from portal.audit.models import AuditEvent, SignedAuditHeads
from portal.audit.services import Actor, audit_chain_verify, audit_record
from portal.signatures import canonical_bytes
from tenants.context import dangerously_unscoped

pytestmark = pytest.mark.django_db


def _record_some(two_tenants):
    actor = Actor.system("test")
    for n in range(3):
        audit_record(action="search.run", actor=actor, tenant=two_tenants.a.tenant, details={"n": n})
    audit_record(action="image.delete", actor=actor, tenant=two_tenants.b.tenant)
    audit_record(action="order.activate", actor=actor, details={"reference": "CNIL-1"})


def _kept_from_the_public_file(client, tmp_path):
    """What an outsider does: fetch the public file and keep its newest entry in canonical form."""
    response = client.get("/.well-known/portal-audit-heads.json")
    assert response.status_code == 200
    entry = response.json()["signed_heads"][0]
    kept = tmp_path / "head.json"
    kept.write_bytes(canonical_bytes(entry))
    return kept, response.json()


def _rewrite_as_owner(*, tenant_id: int, position: int) -> None:
    """An attacker with the owner's rights changes one event and re-hashes the rest of the chain
    and its head, so that every link is consistent again."""
    from portal.runtime.database import owner_psycopg_connect

    with owner_psycopg_connect(dbname=connection.settings_dict["NAME"]) as owner:
        owner.execute("ALTER TABLE compliance_auditevent DISABLE TRIGGER audit_append_only")
        owner.execute("SET portal.scope = 'all'")
        try:
            owner.execute("UPDATE compliance_auditevent SET details = '{\"n\": \"forged\"}' "
                          "WHERE tenant_id = %s AND position = %s", [tenant_id, position])
            rows = owner.execute(
                "SELECT id, position, portal_audit_canonical(tenant_id, position, actor_user_id, actor_api_key_id,"
                " actor_label, action, target_type, target_id, details, ip_address, created_at)"
                " FROM compliance_auditevent WHERE tenant_id = %s ORDER BY position", [tenant_id]).fetchall()
            prev = "0" * 64
            for row_id, _position, canonical in rows:
                new_hash = hashlib.sha256((prev + canonical).encode()).hexdigest()
                owner.execute("UPDATE compliance_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                              [prev, new_hash, row_id])
                prev = new_hash
            owner.execute("UPDATE compliance_auditchainhead SET hash = %s WHERE chain_tenant_id = %s",
                          [prev, tenant_id])
        finally:
            owner.execute("ALTER TABLE compliance_auditevent ENABLE TRIGGER audit_append_only")


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_signs_heads_and_a_rewrite_by_the_owner_is_detected(two_tenants, client, tmp_path):
    _record_some(two_tenants)
    row_id = tasks.heads_sign()  # what beat runs
    with dangerously_unscoped(reason="test"):
        row = SignedAuditHeads.objects.get(pk=row_id)
    a_id, b_id = two_tenants.a.tenant.pk, two_tenants.b.tenant.pk
    assert [chain for chain, _p, _h in row.heads] == [0, a_id, b_id]
    kept, published = _kept_from_the_public_file(client, tmp_path)
    document = published["signed_heads"][0]["signed"]["document"]
    assert document["type"] == "audit-heads/1" and document["chains_digest"] == row.digest
    public_text = json.dumps(published)
    assert f'"tenant_id": {a_id}' not in public_text and two_tenants.a.tenant.slug not in public_text
    tenant_kept = tmp_path / "tenant-head.json"
    tenant_kept.write_bytes(audit_chain_head_sign(tenant=two_tenants.a.tenant))

    out = StringIO()
    call_command("audit_heads_check", str(kept), stdout=out)
    assert "Signature good" in out.getvalue() and "3 chains" in out.getvalue()
    assert audit_heads_check(data=tenant_kept.read_bytes()).ok

    audit_record(action="search.run", actor=Actor.system("test"), tenant=two_tenants.a.tenant)  # later, honest
    assert audit_heads_check(data=kept.read_bytes()).ok

    _rewrite_as_owner(tenant_id=a_id, position=2)
    assert all(result.intact for result in audit_chain_verify())  # re-hashed: the chain alone cannot tell
    for kept_file in (kept, tenant_kept):
        with pytest.raises(CommandError, match=f"REWRITTEN.*chain of tenant {a_id} holds another event at position"):
            call_command("audit_heads_check", str(kept_file))
    result = audit_heads_check(data=kept.read_bytes())
    assert not result.ok and not any(f"tenant {b_id}" in line for line in result.lines)


def test_a_tampered_signed_head_is_refused(two_tenants, tmp_path):
    _record_some(two_tenants)
    tasks.heads_sign()
    with dangerously_unscoped(reason="test"):
        signed = SignedAuditHeads.objects.get().signed_file.encode()
    kept = tmp_path / "head.json"
    kept.write_bytes(signed.replace(b'"position":', b'"position":1', 1))
    with pytest.raises(CommandError, match="NOT GENUINE"):
        call_command("audit_heads_check", str(kept))
    assert kept.read_bytes() != signed



@pytest.mark.django_db(transaction=True)
def test_a_real_worker_signs_the_heads_with_the_key_file_it_is_given(two_tenants, tmp_path):
    import time

    from celery import Celery

    from portal.audit.signing import signing_key_current
    from tests.worker import Worker, broker_url_of_this_test_database

    _record_some(two_tenants)
    _private, key = signing_key_current()  # made here; the worker is given the same file (tests/worker.py)
    broker = broker_url_of_this_test_database()
    with Worker(log=tmp_path / "worker.log", broker=broker) as worker:
        Celery(broker=broker).send_task("audit.heads_sign")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with dangerously_unscoped(reason="test"):
                row = SignedAuditHeads.objects.first()
            if row is not None:
                break
            assert worker.process.poll() is None, worker.output()
            time.sleep(0.2)
        else:
            raise AssertionError(f"no signed head after 120 s:\n{worker.output()}")
    assert row.key_id == key.key_id
    assert audit_heads_check(data=row.signed_file.encode()).ok


@pytest.mark.django_db(transaction=True)
def test_a_tenant_checks_a_kept_head_on_its_audit_page(two_tenants, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    a, b = two_tenants.a, two_tenants.b
    _record_some(two_tenants)
    kept_a, kept_b = audit_chain_head_sign(tenant=a.tenant), audit_chain_head_sign(tenant=b.tenant)
    client.force_login(a.owner)
    url = f"/t/{a.tenant.slug}/audit/signed-head/check/"

    def check(data: bytes) -> str:
        response = client.post(url, {"kept": SimpleUploadedFile("head.json", data, "application/json")})
        assert response.status_code == 200
        return response.content.decode()

    assert "Your chain still holds the signed head." in check(kept_a)
    tampered = kept_a.replace(b'"position":3', b'"position":2')
    assert tampered != kept_a
    assert "Not a genuine signed head of your chain" in check(tampered)
    page = check(kept_b)  # genuine, but another tenant's: refused without checking that chain
    assert "not a signed head of your organisation&#x27;s chain" in page and f"tenant {b.tenant.pk}" not in page
    assert "too large" in check(b" " * (64 * 1024 + 1))
    with dangerously_unscoped(reason="test"):
        checks = list(AuditEvent.objects.filter(tenant=a.tenant, action="audit.signed_head_checked")
                      .order_by("position").values_list("details", flat=True))
    assert [c["genuine"] for c in checks] == [True, False, False]  # the too-large file was not read

    _rewrite_as_owner(tenant_id=a.tenant.pk, position=2)
    page = check(kept_a)
    assert "holds another event at position 3 than when it was signed" in page and 'role="alert"' in page

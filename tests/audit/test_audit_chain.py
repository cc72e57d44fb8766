import hashlib

import pytest
from django.db import ProgrammingError, connection, transaction

from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_chain_verify, audit_chains_anchor, audit_head, audit_record
from tenants.context import dangerously_unscoped, tenant_scope

pytestmark = pytest.mark.django_db


def _record_some(two_tenants):
    """Tenant A: two events; tenant B: one; the platform: one."""
    actor = Actor.of_user(two_tenants.a.owner, ip_address="127.0.0.1")
    audit_record(action="search.run", actor=actor, tenant=two_tenants.a.tenant, target_type="search", target_id=1,
                 details={"case_reference": "CASE-1"})
    audit_record(action="image.delete", actor=actor, tenant=two_tenants.b.tenant, target_type="image", target_id=7)
    audit_record(action="search.run", actor=actor, tenant=two_tenants.a.tenant, details={"note": "é \"quoted\" | x"})
    audit_record(action="order.activate", actor=Actor.system("test"), details={"reference": "CNIL-1"})


def _chain(tenant) -> list[AuditEvent]:
    with dangerously_unscoped(reason="test"):
        return list(AuditEvent.objects.filter(tenant=tenant).order_by("position"))


def test_each_tenant_has_its_own_gapless_chain(two_tenants):
    _record_some(two_tenants)
    a_events, b_events, platform = _chain(two_tenants.a.tenant), _chain(two_tenants.b.tenant), _chain(None)
    assert [e.position for e in a_events] == [1, 2]
    assert [e.position for e in b_events] == [1]
    assert [e.position for e in platform] == [1]
    # A's second event links to A's first, never to B's event written in between.
    assert a_events[0].prev_hash == "0" * 64 and a_events[1].prev_hash == a_events[0].hash
    assert b_events[0].prev_hash == "0" * 64
    results = audit_chain_verify()
    assert [(r.tenant_id, r.events, r.intact) for r in results] == [
        (None, 1, True), (two_tenants.a.tenant.pk, 2, True), (two_tenants.b.tenant.pk, 1, True)]
    with tenant_scope(two_tenants.a.tenant):
        assert audit_head(tenant=two_tenants.a.tenant) == (2, a_events[1].hash)


def test_the_hash_can_be_recomputed_from_the_canonical_form(two_tenants):
    _record_some(two_tenants)
    event = _chain(two_tenants.a.tenant)[1]
    with dangerously_unscoped(reason="test"), connection.cursor() as cursor:
        cursor.execute("SELECT portal_audit_canonical(tenant_id, position, actor_user_id, actor_api_key_id,"
                       " actor_label, action, target_type, target_id, details, ip_address, created_at)"
                       " FROM compliance_auditevent WHERE id = %s", [event.pk])
        canonical = cursor.fetchone()[0]
    assert canonical.startswith(f"[{two_tenants.a.tenant.pk}, 2, ")
    assert hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest() == event.hash


def test_a_tenant_verifies_its_own_chain_alone(two_tenants):
    _record_some(two_tenants)
    [result] = audit_chain_verify(tenant=two_tenants.b.tenant)
    assert result.intact and result.events == 1 and result.tenant_id == two_tenants.b.tenant.pk


def test_tenants_read_only_their_own_events(two_tenants):
    _record_some(two_tenants)
    with tenant_scope(two_tenants.a.tenant):
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["search.run", "search.run"]
    with tenant_scope(two_tenants.b.tenant):
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["image.delete"]


def test_the_application_can_only_append_through_the_function(two_tenants):
    _record_some(two_tenants)
    attempts = [
        "UPDATE compliance_auditevent SET action = 'x'",
        "DELETE FROM compliance_auditevent",
        "INSERT INTO compliance_auditevent (seq, position, actor_label, action, target_type, target_id, details,"
        " created_at, prev_hash, hash) VALUES (999, 99, 'forger', 'x', '', '', '{}', now(), '', '')",
        "UPDATE compliance_auditchainhead SET position = 0",
        "SELECT * FROM compliance_auditchainhead",
    ]
    with tenant_scope(two_tenants.a.tenant):
        for sql in attempts:
            with pytest.raises(ProgrammingError, match="permission denied"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql)


def test_the_function_refuses_another_tenants_chain(two_tenants):
    with tenant_scope(two_tenants.a.tenant), pytest.raises(ProgrammingError, match="only in that tenant's scope"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT portal_audit_append(%s, NULL, NULL, 'forger', 'x', '', '', '{}', NULL)",
                           [two_tenants.b.tenant.pk])
    assert _chain(two_tenants.b.tenant) == []


def test_anchors_pin_every_tenant_chains_head_in_the_platform_chain(two_tenants):
    _record_some(two_tenants)
    anchor = audit_chains_anchor()
    assert anchor is not None and anchor.tenant_id is None
    [event] = [e for e in _chain(None) if e.action == "audit.chains_anchored"]
    a_head, b_head = _chain(two_tenants.a.tenant)[-1], _chain(two_tenants.b.tenant)[-1]
    assert event.details["chains"] == {str(two_tenants.a.tenant.pk): {"position": 2, "hash": a_head.hash},
                                       str(two_tenants.b.tenant.pk): {"position": 1, "hash": b_head.hash}}
    assert audit_chains_anchor() is None  # nothing moved since
    audit_record(action="search.run", actor=Actor.system("test"), tenant=two_tenants.b.tenant)
    audit_chains_anchor()
    latest = [e for e in _chain(None) if e.action == "audit.chains_anchored"][-1]
    assert latest.details["moved"] == [str(two_tenants.b.tenant.pk)]
    assert latest.details["chains"][str(two_tenants.a.tenant.pk)]["hash"] == a_head.hash


def _as_owner(sql: str) -> None:
    """What an attacker with the table owner's rights could do (lifting the trigger first)."""
    from portal.runtime.database import owner_psycopg_connect

    with owner_psycopg_connect(dbname=connection.settings_dict["NAME"]) as owner:
        owner.execute("ALTER TABLE compliance_auditevent DISABLE TRIGGER audit_append_only")
        owner.execute("SET portal.scope = 'all'")  # RLS is forced, so even the owner must ask
        try:
            owner.execute(sql)
        finally:
            owner.execute("ALTER TABLE compliance_auditevent ENABLE TRIGGER audit_append_only")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tampering, broken_position, problem", [
    ("UPDATE compliance_auditevent SET details = '{\"forged\": true}' WHERE tenant_id = {a} AND position = 2", 2,
     "content"),
    ("DELETE FROM compliance_auditevent WHERE tenant_id = {a} AND position = 1", 1, "missing"),
    ("UPDATE compliance_auditevent SET prev_hash = repeat('f', 64) WHERE tenant_id = {a} AND position = 2", 2, "link"),
    ("DELETE FROM compliance_auditevent WHERE tenant_id = {a} AND position = 2", 2, "head"),
])
def test_an_edit_by_the_owner_is_found_in_that_tenants_chain(two_tenants, tampering, broken_position, problem):
    _record_some(two_tenants)
    assert all(result.intact for result in audit_chain_verify())
    _as_owner(tampering.replace("{a}", str(two_tenants.a.tenant.pk)))
    [result] = audit_chain_verify(tenant=two_tenants.a.tenant)
    assert not result.intact
    assert result.first_broken_position == broken_position and problem in result.problem
    assert [r.intact for r in audit_chain_verify(tenant=two_tenants.b.tenant)] == [True]


def test_audit_record_rolls_back_with_its_action(two_tenants):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="search.run", actor=Actor.system("test"), tenant=two_tenants.a.tenant)
        raise RuntimeError("the action failed")
    with tenant_scope(two_tenants.a.tenant):
        assert audit_head(tenant=two_tenants.a.tenant)[0] == 0
    assert all(result.intact for result in audit_chain_verify())

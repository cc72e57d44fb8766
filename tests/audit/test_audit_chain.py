import pytest
from django.db import ProgrammingError, connection, transaction

from portal.audit.services import Actor, audit_chain_verify, audit_head, audit_record
from portal.audit.models import AuditEvent
from tenants.context import dangerously_unscoped, tenant_scope

pytestmark = pytest.mark.django_db


def _record_some(two_tenants):
    actor = Actor.of_user(two_tenants.a.owner, ip_address="127.0.0.1")
    audit_record(action="search.run", actor=actor, tenant=two_tenants.a.tenant, target_type="search", target_id=1,
                 details={"case_reference": "CASE-1"})
    audit_record(action="image.delete", actor=actor, tenant=two_tenants.b.tenant, target_type="image", target_id=7)
    audit_record(action="order.activate", actor=Actor.system("test"), details={"reference": "CNIL-1"})


def test_events_are_chained_and_the_chain_verifies(two_tenants):
    _record_some(two_tenants)
    with dangerously_unscoped(reason="test"):
        events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    result = audit_chain_verify()
    assert result.intact and result.events == 3
    assert audit_head() == (3, events[2].hash)


def test_tenants_read_only_their_own_events(two_tenants):
    _record_some(two_tenants)
    with tenant_scope(two_tenants.a.tenant):
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["search.run"]
    with tenant_scope(two_tenants.b.tenant):
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["image.delete"]


def test_events_cannot_be_updated_or_deleted(two_tenants):
    _record_some(two_tenants)
    with tenant_scope(two_tenants.a.tenant):
        for sql in ("UPDATE compliance_auditevent SET action = 'x'", "DELETE FROM compliance_auditevent"):
            with pytest.raises(ProgrammingError, match="append-only"), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql)


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
@pytest.mark.parametrize("tampering, broken_seq, problem", [
    ("UPDATE compliance_auditevent SET details = '{\"forged\": true}' WHERE seq = 2", 2, "content"),
    ("DELETE FROM compliance_auditevent WHERE seq = 2", 2, "missing"),
    ("UPDATE compliance_auditevent SET prev_hash = repeat('f', 64) WHERE seq = 3", 3, "link"),
])
def test_verification_names_the_first_broken_link(two_tenants, tampering, broken_seq, problem):
    _record_some(two_tenants)
    assert audit_chain_verify().intact
    _as_owner(tampering)
    result = audit_chain_verify()
    assert not result.intact
    assert result.first_broken_seq == broken_seq and problem in result.problem


def test_audit_record_rolls_back_with_its_action(two_tenants):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="search.run", actor=Actor.system("test"), tenant=two_tenants.a.tenant)
        raise RuntimeError("the action failed")
    assert audit_head()[0] == 0
    assert audit_chain_verify().intact

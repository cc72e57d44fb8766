"""An auditor checks the tenant's own audit chain from the audit page, alone: the same check as
`manage.py audit_verify --tenant`, with the result on the page and the check itself recorded."""

import pytest

from portal.audit.services import Actor, audit_record
from portal.runtime.database import owner_psycopg_connect

pytestmark = pytest.mark.django_db


def _record(world, n):
    for index in range(n):
        audit_record(action="search.run", actor=Actor.of_user(world.investigator), tenant=world.tenant,
                     target_type="search", target_id=index)


def test_an_auditor_verifies_the_chain_and_sees_gapless_positions(client, two_tenants):
    _record(two_tenants.a, 3)
    _record(two_tenants.b, 5)  # another tenant's activity leaves no gap in A's numbering
    _record(two_tenants.a, 2)
    client.force_login(two_tenants.a.auditor)
    page = client.get("/t/agency-a/audit/")
    assert [e.position for e in page.context["page"].object_list] == [5, 4, 3, 2, 1]
    assert "Verify the chain" in page.content.decode()
    result = client.post("/t/agency-a/audit/verify/")
    body = result.content.decode()
    assert result.status_code == 200 and "Chain intact: 5 events recomputed" in body
    after = client.get("/t/agency-a/audit/")
    latest = after.context["page"].object_list[0]
    assert latest.action == "audit.chain_verified" and latest.position == 6
    assert latest.details == {"intact": True, "events": 5, "first_broken_position": None}


@pytest.mark.django_db(transaction=True)
def test_the_page_names_an_edited_entry(client, two_tenants):
    _record(two_tenants.a, 3)
    with owner_psycopg_connect() as owner:  # someone with the table owner's rights edits entry 2
        owner.execute("ALTER TABLE compliance_auditevent DISABLE TRIGGER audit_append_only")
        owner.execute("SET portal.scope = 'all'")
        owner.execute("UPDATE compliance_auditevent SET details = '{\"forged\": 1}' WHERE tenant_id = %s"
                      " AND position = 2", [two_tenants.a.tenant.pk])
        owner.execute("ALTER TABLE compliance_auditevent ENABLE TRIGGER audit_append_only")
    client.force_login(two_tenants.a.auditor)
    body = client.post("/t/agency-a/audit/verify/").content.decode()
    assert "Chain broken at # 2" in body and "does not match its hash" in body


def test_only_those_who_may_audit_can_verify(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    assert client.post("/t/agency-a/audit/verify/").status_code == 403
    client.force_login(two_tenants.b.auditor)
    assert client.post("/t/agency-a/audit/verify/").status_code == 404
    client.force_login(two_tenants.a.auditor)
    assert client.get("/t/agency-a/audit/verify/").status_code == 405


def test_details_read_as_text_not_python(client, two_tenants):
    audit_record(action="api_key.create", actor=Actor.of_user(two_tenants.a.owner), tenant=two_tenants.a.tenant,
                 details={"scopes": ["search", "audit:read"], "leads": 0, "note": ""})
    client.force_login(two_tenants.a.auditor)
    body = client.get("/t/agency-a/audit/").content.decode()
    assert "search, audit:read" in body and "[&#x27;search" not in body and "['search" not in body
    assert "<b>leads</b> <span title=\"0\">0</span>" in body

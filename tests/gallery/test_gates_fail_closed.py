"""The gates cannot be forgotten: with no compliance gate registered, ingest and search raise
and the system check stops start-up, instead of letting everything through."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portal.gallery import gates
from portal.gallery.gates import GatesMissing, ingest_gates_check, search_exclusions_sql
from portal.search.selectors import tenant_faces_nearest
from tenants.context import tenant_scope
from tests.builders import unit_vector


def test_compliance_registers_every_gate_at_start_up():
    assert gates.gates_missing() == []
    assert not [error for error in checks.run_checks() if error.id == "gallery.E001"]


@pytest.mark.parametrize("emptied", ["_ingest_gates", "_search_exclusions"])
def test_a_missing_gate_fails_the_system_check(monkeypatch, emptied):
    monkeypatch.setattr(gates, emptied, [])
    assert [error.id for error in checks.run_checks() if error.id == "gallery.E001"] == ["gallery.E001"]
    with pytest.raises(SystemCheckError, match="gallery.E001"):
        call_command("check")


@pytest.mark.django_db
def test_with_a_gate_removed_ingest_and_search_raise_rather_than_allow(monkeypatch, two_tenants):
    from portal.compliance.gates import order_ingest_gate, order_search_exclusion

    tenant = two_tenants.a.tenant
    monkeypatch.setattr(gates, "_ingest_gates", [g for g in gates._ingest_gates if g is not order_ingest_gate])
    with pytest.raises(GatesMissing):
        ingest_gates_check(tenant=tenant, region="FR", source_domain="", embeddings=[])
    monkeypatch.undo()
    monkeypatch.setattr(gates, "_search_exclusions",
                        [e for e in gates._search_exclusions if e is not order_search_exclusion])
    with pytest.raises(GatesMissing):
        search_exclusions_sql(tenant=tenant, include_platform_index=False, alias="f")
    with tenant_scope(tenant), pytest.raises(GatesMissing):
        tenant_faces_nearest(tenant=tenant, embedding=unit_vector(), k=5, include_platform_index=False)

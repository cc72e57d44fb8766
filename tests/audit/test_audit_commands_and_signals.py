"""The audit_verify command, and log-ins, log-outs and failures written to the chain."""

import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record
from tenants.context import dangerously_unscoped
from tests.audit.test_audit_chain import _as_owner

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(transaction=True)
def test_audit_verify_command_names_the_first_broken_link(two_tenants, capsys):
    for n in range(3):
        audit_record(action="test.event", actor=Actor.system("test"), details={"n": n})
    call_command("audit_verify")
    assert "platform chain: intact, 3 events" in capsys.readouterr().out
    _as_owner("UPDATE compliance_auditevent SET details = '{\"n\": 9}' WHERE tenant_id IS NULL AND position = 2")
    with pytest.raises(CommandError, match="platform chain broken at position 2"):
        call_command("audit_verify")


def test_log_ins_and_failures_are_audited(client, two_tenants):
    from tests.factories import TEST_PASSWORD

    email = two_tenants.a.owner.email
    assert client.post("/accounts/login/", {"username": email, "password": TEST_PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": email, "password": "wrong"}).status_code == 200
    with dangerously_unscoped(reason="test"):
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["auth.login", "auth.logout", "auth.login_failed"]

"""Tenant administration: members and roles, settings, the audit log."""

import re

import pytest

from portal.audit.services import Actor, audit_record
from portal.audit.models import AuditEvent
from tenants.context import tenant_scope
from tenants.models import Membership, User

pytestmark = pytest.mark.django_db


def _membership(world, user):
    with tenant_scope(world.tenant):
        return Membership.objects.get(user=user)


def test_inviting_is_the_same_answer_for_a_new_and_an_existing_address_and_joins_nobody(
        client, two_tenants, django_capture_on_commit_callbacks):
    """Inviting no longer shows a password nor attaches an existing account: both get an e-mail
    with a link, and the owner sees the same message (tests/web/test_invitations.py accepts)."""
    from django.core import mail

    client.force_login(two_tenants.a.owner)
    answers = []
    for email in ("New.Person@Example.test", two_tenants.b.owner.email):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/t/agency-a/admin/members/", {"email": email, "role": "auditor"}, follow=True)
        said = re.search(r'<ul class="messages".*?</ul>', response.content.decode(), re.S).group(0)
        answers.append((response.status_code, said.replace(email.lower(), "ADDRESS")))
    assert answers[0] == answers[1] and "An invitation to join as auditor was sent to ADDRESS" in answers[0][1]
    assert len(mail.outbox) == 2 and not User.objects.filter(email="new.person@example.test").exists()
    with tenant_scope(two_tenants.a.tenant):
        assert not Membership.objects.filter(user=two_tenants.b.owner).exists()
        events = list(AuditEvent.objects.filter(action="member.invite").values_list("details", flat=True))
    assert {d["email"] for d in events} == {"new.person@example.test", two_tenants.b.owner.email}
    again = client.post("/t/agency-a/admin/members/", {"email": two_tenants.a.investigator.email, "role": "auditor"})
    assert again.status_code == 400 and "already a member" in again.content.decode()


def test_only_an_owner_makes_owners(client, two_tenants):
    client.force_login(two_tenants.a.admin)
    response = client.post("/t/agency-a/admin/members/", {"email": "x@example.test", "role": "owner"})
    assert response.status_code == 400 and "Only an owner" in response.content.decode()
    investigator = _membership(two_tenants.a, two_tenants.a.investigator)
    client.post(f"/t/agency-a/admin/members/{investigator.public_id}/role/", {"role": "owner"})
    assert _membership(two_tenants.a, two_tenants.a.investigator).role == "investigator"
    owner = _membership(two_tenants.a, two_tenants.a.owner)
    client.post(f"/t/agency-a/admin/members/{owner.public_id}/remove/")
    assert _membership(two_tenants.a, two_tenants.a.owner).role == "owner"


def test_change_role_and_remove(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    investigator = _membership(two_tenants.a, two_tenants.a.investigator)
    assert client.post(f"/t/agency-a/admin/members/{investigator.public_id}/role/", {"role": "auditor"}).status_code == 302
    assert _membership(two_tenants.a, two_tenants.a.investigator).role == "auditor"
    assert client.post(f"/t/agency-a/admin/members/{investigator.public_id}/remove/").status_code == 302
    with tenant_scope(two_tenants.a.tenant):
        assert not Membership.objects.filter(user=two_tenants.a.investigator).exists()
        assert {e.action for e in AuditEvent.objects.all()} >= {"member.role_change", "member.remove"}
    client.force_login(two_tenants.a.investigator)
    assert client.get("/t/agency-a/").status_code == 404


def test_the_last_owner_stays(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    owner = _membership(two_tenants.a, two_tenants.a.owner)
    removed = client.post(f"/t/agency-a/admin/members/{owner.public_id}/remove/", follow=True)
    assert "last owner" in removed.content.decode()
    demoted = client.post(f"/t/agency-a/admin/members/{owner.public_id}/role/", {"role": "admin"}, follow=True)
    assert "last owner" in demoted.content.decode()
    assert _membership(two_tenants.a, two_tenants.a.owner).role == "owner"
    # With a second owner, the first may step down.
    admin = _membership(two_tenants.a, two_tenants.a.admin)
    client.post(f"/t/agency-a/admin/members/{admin.public_id}/role/", {"role": "owner"})
    assert client.post(f"/t/agency-a/admin/members/{owner.public_id}/role/", {"role": "admin"}).status_code == 302
    assert _membership(two_tenants.a, two_tenants.a.owner).role == "admin"


def test_another_tenants_membership_is_404(client, two_tenants):
    other = _membership(two_tenants.b, two_tenants.b.investigator)
    client.force_login(two_tenants.a.owner)
    assert client.post(f"/t/agency-a/admin/members/{other.public_id}/role/", {"role": "auditor"}).status_code == 404
    assert client.post(f"/t/agency-a/admin/members/{other.public_id}/remove/").status_code == 404
    assert _membership(two_tenants.b, two_tenants.b.investigator).role == "investigator"


def test_investigator_cannot_manage_members(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    auditor = _membership(two_tenants.a, two_tenants.a.auditor)
    assert client.post("/t/agency-a/admin/members/", {"email": "x@example.test", "role": "owner"}).status_code == 403
    assert client.post(f"/t/agency-a/admin/members/{auditor.public_id}/remove/").status_code == 403


def test_settings_are_saved_and_audited(client, two_tenants):
    client.force_login(two_tenants.a.admin)
    response = client.post("/t/agency-a/admin/settings/", {"probe_retention_days": "7"})
    assert response.status_code == 302
    two_tenants.a.tenant.refresh_from_db()
    assert two_tenants.a.tenant.case_reference_required is False and two_tenants.a.tenant.probe_retention_days == 7
    assert client.post("/t/agency-a/admin/settings/", {"probe_retention_days": "0"}).status_code == 400
    with tenant_scope(two_tenants.a.tenant):
        event = AuditEvent.objects.get(action="tenant.settings_update")
    assert event.details["probe_retention_days"] == [30, 7]


def test_audit_log_shows_own_events_filtered_and_paginated(client, two_tenants):
    a, b = two_tenants.a, two_tenants.b
    for index in range(30):
        audit_record(action="search.run", actor=Actor.of_user(a.investigator), tenant=a.tenant,
                     target_type="search", target_id=index)
    audit_record(action="member.add", actor=Actor.of_user(a.owner), tenant=a.tenant)
    audit_record(action="secret.b", actor=Actor.of_user(b.owner), tenant=b.tenant)
    client.force_login(a.auditor)
    page = client.get("/t/agency-a/audit/")
    assert page.status_code == 200 and page.context["page"].paginator.count == 31
    assert "secret.b" not in page.content.decode() and "Page 1 of 2" in page.content.decode()
    filtered = client.get("/t/agency-a/audit/?action=member.add")
    assert [e.action for e in filtered.context["page"].object_list] == ["member.add"]
    by_actor = client.get(f"/t/agency-a/audit/?actor={a.owner.email}")
    assert by_actor.context["page"].paginator.count == 1
    second = client.get("/t/agency-a/audit/?action=search.run&page=2")
    assert len(second.context["page"].object_list) == 5


def test_api_key_secret_is_shown_once_then_revoked(client, two_tenants):
    from portal.api.models import ApiKey
    from portal.api.services import api_key_authenticate

    client.force_login(two_tenants.a.admin)
    empty = client.get("/t/agency-a/admin/api-keys/").content.decode()
    assert "No API keys yet" in empty
    response = client.post("/t/agency-a/admin/api-keys/", {"name": "records bridge", "scopes": ["search", "audit:read"]})
    assert response.status_code == 200
    raw_key = response.context["raw_key"]
    assert raw_key in response.content.decode() and api_key_authenticate(raw_key=raw_key) is not None
    listing = client.get("/t/agency-a/admin/api-keys/").content.decode()
    assert raw_key not in listing and "records bridge" in listing
    with tenant_scope(two_tenants.a.tenant):
        key = ApiKey.objects.get()
    # Authenticating above used the key: the list says when.
    assert key.last_used_at is not None and key.last_used_at.strftime("%-d %b %Y, %H:%M") in listing
    assert client.post("/t/agency-a/admin/api-keys/", {"name": "no scopes"}).status_code == 400
    # Another tenant's admin can neither see nor revoke it.
    client.force_login(two_tenants.b.admin)
    assert "records bridge" not in client.get("/t/retailer-b/admin/api-keys/").content.decode()
    assert client.post(f"/t/retailer-b/admin/api-keys/{key.public_id}/revoke/").status_code == 404
    assert api_key_authenticate(raw_key=raw_key) is not None
    client.force_login(two_tenants.a.owner)
    assert client.post(f"/t/agency-a/admin/api-keys/{key.public_id}/revoke/").status_code == 302
    assert api_key_authenticate(raw_key=raw_key) is None
    assert "revoked" in client.get("/t/agency-a/admin/api-keys/").content.decode()
    client.force_login(two_tenants.a.investigator)
    assert client.post(f"/t/agency-a/admin/api-keys/{key.public_id}/revoke/").status_code == 403

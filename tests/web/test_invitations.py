"""Joining a tenant only by accepting the e-mailed invitation, with or without an account."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.audit.models import AuditEvent
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Invitation, Membership, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(client, django_capture_on_commit_callbacks):
    def send(world, email, role="investigator") -> str:
        client.force_login(world.owner)
        with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes after the commit
            client.post(f"/t/{world.tenant.slug}/admin/members/", {"email": email, "role": role})
        client.logout()
        return _link()
    return send


def _link() -> str:
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    return link.split("testserver", 1)[1]


def test_a_new_person_chooses_a_password_and_joins(client, two_tenants, invite):
    path = invite(two_tenants.a, "newcomer@example.test")
    page = client.get(path)
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    weak = client.post(path, {"password1": "short", "password2": "short"})
    assert weak.status_code == 400 and not User.objects.filter(email="newcomer@example.test").exists()
    joined = client.post(path, {"full_name": "New Comer", "password1": "a long passphrase 1984",
                                "password2": "a long passphrase 1984"})
    assert joined.status_code == 302 and joined["Location"] == "/t/agency-a/"
    user = User.objects.get(email="newcomer@example.test")
    assert user.check_password("a long passphrase 1984") and client.get("/t/agency-a/").status_code == 200
    with tenant_scope(two_tenants.a.tenant):
        assert Membership.objects.get(user=user).role == "investigator"
        assert AuditEvent.objects.filter(action="member.join").exists()
    client.logout()
    assert client.get(path).status_code == 404  # used once


def test_an_existing_account_joins_only_when_it_accepts_signed_in(client, two_tenants, invite):
    person = two_tenants.b.owner
    path = invite(two_tenants.a, person.email, role="auditor")
    signed_out = client.get(path)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
    client.force_login(two_tenants.a.investigator)  # someone else's session
    assert client.post(path).status_code == 403
    client.force_login(person)
    with tenant_scope(two_tenants.a.tenant):
        assert not Membership.objects.filter(user=person).exists()
    assert "Join Agency A" in client.get(path).content.decode()
    assert client.post(path).status_code == 302
    with tenant_scope(two_tenants.a.tenant):
        assert Membership.objects.get(user=person).role == "auditor"


@pytest.mark.parametrize("case", ["expired", "revoked", "forged"])
def test_an_invitation_that_is_not_pending_is_refused_and_changes_nothing(client, two_tenants, invite, case):
    path = invite(two_tenants.a, "late@example.test")
    if case == "expired":
        with dangerously_unscoped(reason="test"):
            Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "revoked":
        client.force_login(two_tenants.a.owner)
        with tenant_scope(two_tenants.a.tenant):
            invitation = Invitation.objects.get()
        assert client.post(f"/t/agency-a/admin/invitations/{invitation.public_id}/revoke/").status_code == 302
        client.logout()
    else:
        path = path[:-5] + "abcd/"
    assert client.get(path).status_code == 404
    assert client.post(path, {"password1": "a long passphrase 1984",
                              "password2": "a long passphrase 1984"}).status_code == 404
    assert not User.objects.filter(email="late@example.test").exists()


def test_another_tenants_invitation_cannot_be_revoked(client, two_tenants, invite):
    invite(two_tenants.b, "someone@example.test")
    with tenant_scope(two_tenants.b.tenant):
        invitation = Invitation.objects.get()
    client.force_login(two_tenants.a.owner)
    assert "someone@example.test" not in client.get("/t/agency-a/admin/members/").content.decode()
    assert client.post(f"/t/agency-a/admin/invitations/{invitation.public_id}/revoke/").status_code == 404
    with tenant_scope(two_tenants.b.tenant):
        assert Invitation.objects.filter(pk=invitation.pk).exists()

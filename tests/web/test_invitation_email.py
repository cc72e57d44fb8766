"""Invitations travel by real e-mail: Django's SMTP backend sends to a local SMTP server
(tests/smtp.py), and the link read from the received message is what the invitee opens."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.context import dangerously_unscoped, rls_user, tenant_scope
from tenants.models import Invitation, Membership, User

pytestmark = pytest.mark.django_db

PASSPHRASE = "a long passphrase 1984"


@pytest.fixture
def invite_by_mail(client, smtp_server, django_capture_on_commit_callbacks):
    def send(world, email, role="investigator"):
        before = len(smtp_server.messages)
        client.force_login(world.owner)
        with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes after the commit
            response = client.post(f"/t/{world.tenant.slug}/admin/members/", {"email": email, "role": role})
        assert response.status_code == 302
        client.logout()
        message = smtp_server.wait_for(before + 1)[-1]
        return message, message.link(r"https?://\S+/invitations/\S+/").split("testserver", 1)[1]
    return send


def test_the_email_arrives_over_smtp_and_its_link_joins_once(client, two_tenants, invite_by_mail):
    message, path = invite_by_mail(two_tenants.a, "Newcomer@Example.test", role="auditor")
    assert message.envelope_to == ["newcomer@example.test"]
    assert message.message["To"] == "newcomer@example.test" and message.message["From"] == "portal@localhost"
    assert "Agency A" in message.subject and "as auditor" in message.body and "7 days" in message.body
    joined = client.post(path, {"full_name": "New Comer", "password1": PASSPHRASE, "password2": PASSPHRASE})
    assert joined.status_code == 302 and joined["Location"] == "/t/agency-a/"
    user = User.objects.get(email="newcomer@example.test")
    assert not user.password_change_required  # they chose it themselves
    with tenant_scope(two_tenants.a.tenant):
        assert Membership.objects.get(user=user).role == "auditor"
    client.logout()
    reused = client.get(path)
    assert reused.status_code == 404 and "was used, revoked or has expired" in reused.content.decode()


def test_an_expired_link_is_refused_clearly_and_makes_no_account(client, two_tenants, invite_by_mail):
    _message, path = invite_by_mail(two_tenants.b, "late@example.test")
    with dangerously_unscoped(reason="test: the invitation's week passes"):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(path)
    assert page.status_code == 404 and "Ask for a new one" in page.content.decode()
    refused = client.post(path, {"full_name": "Late", "password1": PASSPHRASE, "password2": PASSPHRASE})
    assert refused.status_code == 404 and not User.objects.filter(email="late@example.test").exists()


def _memberships(user) -> dict[str, str]:
    with rls_user(user_id=user.pk):  # as the person's own request reads them
        return {m.tenant.slug: m.role for m in Membership.of_user.for_user(user)}


def test_a_link_joins_only_its_own_tenant(client, two_tenants, invite_by_mail, smtp_server):
    _to_a, path_a = invite_by_mail(two_tenants.a, "both@example.test")
    to_b, path_b = invite_by_mail(two_tenants.b, "both@example.test", role="auditor")
    assert len(smtp_server.messages_to("both@example.test")) == 2 and path_a != path_b
    assert "Retailer B" in to_b.subject
    client.post(path_a, {"full_name": "Both", "password1": PASSPHRASE, "password2": PASSPHRASE})
    user = User.objects.get(email="both@example.test")
    assert _memberships(user) == {"agency-a": "investigator"}
    assert client.get("/t/retailer-b/").status_code == 404
    with tenant_scope(two_tenants.b.tenant):
        assert Invitation.objects.get(email="both@example.test").accepted_at is None  # B's is still pending
    # B's own link, accepted signed in, joins B only, in its own role.
    assert client.post(path_b).status_code == 302
    assert _memberships(user) == {"agency-a": "investigator", "retailer-b": "auditor"}

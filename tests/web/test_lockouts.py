"""An owner sees which members are locked out by failed log-ins (django-axes), since when, and
unlocks one; only their own tenant's members, and the unlock is audited."""

import uuid

import pytest
from django.conf import settings
from django.test import Client

from portal.audit.models import AuditEvent
from tenants.context import tenant_scope
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _log_in(client, email, password):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _lock_out(email):
    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(stranger, email, "a wrong guess")
    locked = _log_in(stranger, email, TEST_PASSWORD)
    assert locked.status_code == 429, "the right password is refused too once locked out"


def test_an_owner_sees_a_locked_member_and_unlocks_them(client, two_tenants):
    world = two_tenants.a
    member = world.investigator
    _lock_out(member.email.upper())  # typed in capitals: still the same account
    client.force_login(world.owner)
    page = client.get("/t/agency-a/admin/members/").content.decode()
    assert page.count("locked out since") == 1 and f"Unlock {member.email}" in page
    with tenant_scope(world.tenant):
        membership = world.tenant.memberships.get(user=member)
    assert client.post(f"/t/agency-a/admin/members/{membership.public_id}/unlock/").status_code == 302
    assert "locked out since" not in client.get("/t/agency-a/admin/members/").content.decode()
    with tenant_scope(world.tenant):
        event = AuditEvent.objects.get(action="member.unlock")
    assert event.details["email"] == member.email and event.details["cleared"] >= 1
    assert _log_in(Client(), member.email, TEST_PASSWORD).status_code == 302


def test_another_tenants_owner_neither_sees_nor_unlocks_the_same_404_as_none(client, two_tenants):
    member = two_tenants.a.investigator
    _lock_out(member.email)
    with tenant_scope(two_tenants.a.tenant):
        membership = two_tenants.a.tenant.memberships.get(user=member)
    client.force_login(two_tenants.b.owner)
    assert "locked out since" not in client.get("/t/retailer-b/admin/members/").content.decode()
    foreign = client.post(f"/t/retailer-b/admin/members/{membership.public_id}/unlock/")
    absent = client.post(f"/t/retailer-b/admin/members/{uuid.uuid4()}/unlock/")
    assert foreign.status_code == absent.status_code == 404
    assert _log_in(Client(), member.email, TEST_PASSWORD).status_code == 429  # still locked


def test_an_investigator_cannot_unlock(client, two_tenants):
    world = two_tenants.a
    _lock_out(world.auditor.email)
    with tenant_scope(world.tenant):
        membership = world.tenant.memberships.get(user=world.auditor)
    client.force_login(world.investigator)
    assert client.post(f"/t/agency-a/admin/members/{membership.public_id}/unlock/").status_code == 403
    assert _log_in(Client(), world.auditor.email, TEST_PASSWORD).status_code == 429

import re

import pytest

from tenants.context import dangerously_unscoped
from tenants.models import Membership, Tenant
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_member_reaches_their_tenant_page(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    response = client.get("/t/agency-a/")
    assert response.status_code == 200
    assert "Agency A" in response.content.decode()


def test_member_of_a_gets_404_on_tenant_b(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    assert client.get("/t/retailer-b/").status_code == 404


def test_unknown_tenant_and_other_tenant_answer_alike(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    other, missing = client.get("/t/retailer-b/"), client.get("/t/no-such-tenant/")
    assert other.status_code == missing.status_code == 404
    def without_csrf(page: bytes) -> str:
        return re.sub(r"[A-Za-z0-9]{64}", "<csrf token>", page.decode())

    assert without_csrf(other.content) == without_csrf(missing.content)


def test_anonymous_visitor_is_sent_to_log_in(client, two_tenants):
    response = client.get("/t/agency-a/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/t/agency-a/")


def test_suspended_tenant_answers_404(client, two_tenants):
    with dangerously_unscoped(reason="test: the operator suspends the tenant"):
        Tenant.objects.filter(pk=two_tenants.a.tenant.pk).update(status=Tenant.Status.SUSPENDED)
    client.force_login(two_tenants.a.owner)
    assert client.get("/t/agency-a/").status_code == 404


def test_tenant_page_lists_only_its_own_members(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    page = client.get("/t/agency-a/").content.decode()
    assert two_tenants.a.auditor.email in page
    assert two_tenants.b.owner.email not in page


def test_user_of_two_tenants_switches_between_them(client, two_tenants):
    user = two_tenants.a.investigator
    MembershipFactory(tenant=two_tenants.b.tenant, user=user, role=Membership.Role.AUDITOR)
    client.force_login(user)
    home = client.get("/")
    assert home.status_code == 200
    assert "/t/agency-a/" in home.content.decode() and "/t/retailer-b/" in home.content.decode()
    page_b = client.get("/t/retailer-b/")
    assert page_b.status_code == 200
    assert page_b.context["request"].membership.role == Membership.Role.AUDITOR


def test_single_tenant_user_goes_straight_to_their_tenant(client, two_tenants):
    client.force_login(two_tenants.b.owner)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/t/retailer-b/"


def test_static_files_are_served_by_whitenoise(client, db):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)

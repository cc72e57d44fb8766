"""Work across tenants runs on its own connection, as the platform's role, and only that role's
sessions may hold the platform scope (tenants.context, tenants/0010).

These tests commit, so the portal uses its two real connections here: `default` as the
application's role and `platform` as the platform's (tests/conftest.py)."""

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from portal.audit.services import Actor
from portal.core.checks import platform_role_recognised
from portal.gallery.models import Subject
from portal.platform.services import platform_tenant_create
from tenants.claims import claim_message, claim_sign
from tenants.context import dangerously_unscoped, scope_alias, scope_connection, tenant_scope
from tenants.models import Membership, Tenant
from tenants.services import member_add
from tests.factories import TEST_PASSWORD, app_role_connect

pytestmark = pytest.mark.django_db(transaction=True)


def _platform_claim_signed_with_the_key(cursor) -> None:
    """What an attacker who stole RLS_CLAIM_KEY would do: sign a platform claim for their own
    session and transaction."""
    cursor.execute("SELECT pg_backend_pid(), portal_transaction_started()")
    backend_pid, started = cursor.fetchone()
    claim = claim_sign(claim_message(scope="all", tenant_id="", platform_index="", user_id="",
                                     backend_pid=backend_pid, transaction_started=started))
    cursor.execute("SELECT set_config('portal.scope', 'all', true), set_config('portal.claim', %s, true)", [claim])


@pytest.fixture
def subjects_of_two_tenants(two_tenants):
    for world in (two_tenants.a, two_tenants.b):
        with tenant_scope(world.tenant):
            Subject.objects.create(tenant=world.tenant, label="a person")
    return two_tenants


def test_even_with_the_claim_key_the_applications_connection_reaches_no_other_tenant(subjects_of_two_tenants):
    b = subjects_of_two_tenants.b.tenant
    with app_role_connect(autocommit=False) as attacker, attacker.cursor() as cursor:
        _platform_claim_signed_with_the_key(cursor)
        cursor.execute("SELECT portal_claim_valid(), portal_unscoped()")
        assert cursor.fetchone() == (True, False)  # a valid signature, and still no platform scope
        cursor.execute("SELECT count(*) FROM gallery_subject")
        assert cursor.fetchone() == (0,)
        cursor.execute("UPDATE gallery_subject SET label = 'x' WHERE tenant_id = %s", [b.pk])
        assert cursor.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("UPDATE tenants_tenant SET may_search_platform_index = true")
        attacker.rollback()
        # Nor can it become the platform's role: it is no member of it.
        for sql in (f"SET ROLE {settings.DATABASE_PLATFORM_ROLE}",
                    f"SET SESSION AUTHORIZATION {settings.DATABASE_PLATFORM_ROLE}"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                cursor.execute(sql)
            attacker.rollback()


def test_the_platforms_connection_holds_the_platform_scope_only_with_a_signed_claim(subjects_of_two_tenants):
    with app_role_connect(autocommit=False, alias="platform") as platform, platform.cursor() as cursor:
        cursor.execute("SELECT set_config('portal.scope', 'all', true)")
        cursor.execute("SELECT portal_unscoped(), count(*) FROM gallery_subject")
        assert cursor.fetchone() == (False, 0)  # unsigned: nothing
        platform.rollback()
        _platform_claim_signed_with_the_key(cursor)
        cursor.execute("SELECT portal_unscoped(), count(*) FROM gallery_subject")
        assert cursor.fetchone() == (True, 2)


def test_unscoped_work_goes_to_the_platforms_connection_and_tenant_work_to_the_applications(two_tenants):
    tenant = two_tenants.a.tenant
    with tenant_scope(tenant):
        assert scope_alias() == "default" and Subject.objects.all().db == "default"
        with scope_connection().cursor() as cursor:
            cursor.execute("SELECT session_user")
            assert cursor.fetchone() == (settings.DATABASE_APP_ROLE,)
        with dangerously_unscoped(reason="test: a platform step inside a tenant's request"):
            assert Subject.objects.all().db == "platform"
            with scope_connection().cursor() as cursor:
                cursor.execute("SELECT session_user, portal_unscoped()")
                assert cursor.fetchone() == (settings.DATABASE_PLATFORM_ROLE, True)
            with tenant_scope(tenant):
                assert Subject.objects.all().db == "default"
        # Back in the tenant's scope, its claim is still in force on its connection.
        Subject.objects.create(tenant=tenant, label="written after the platform step")
        with scope_connection().cursor() as cursor:
            cursor.execute("SELECT portal_tenant_id(), portal_unscoped()")
            assert cursor.fetchone() == (tenant.pk, False)
    assert platform_role_recognised(None, databases=["platform"]) == []
    assert connections["platform"] is not connections["default"]


def test_a_tenant_made_by_the_platform_is_used_by_its_members_at_once(client):
    """The platform's connection commits a tenant and an account with its password hash; the
    application's connection then serves the member's log-in and pages."""
    operator = Actor.system("test")
    tenant = platform_tenant_create(actor=operator, slug="new-force", name="New Force", kind=Tenant.Kind.LAW_ENFORCEMENT,
                                    home_country="IE")
    membership, _ = member_add(tenant=tenant, email="chief@new-force.test", role=Membership.Role.OWNER,
                               password=TEST_PASSWORD)
    assert client.post("/accounts/login/", {"username": "chief@new-force.test", "password": TEST_PASSWORD}
                       ).status_code == 302
    assert client.get(f"/t/{tenant.slug}/").status_code == 200

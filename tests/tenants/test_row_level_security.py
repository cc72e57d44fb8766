"""Row-level security binds the application's role: raw SQL sees only the tenant in scope."""

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from tenants.context import TenantScopeMissing, dangerously_unscoped, tenant_scope
from tenants.models import Membership

pytestmark = pytest.mark.django_db


def _membership_tenant_ids() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM tenants_membership")
        return {row[0] for row in cursor.fetchall()}


def test_every_table_with_a_tenant_column_has_rls_enabled_and_forced():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM information_schema.columns col
            JOIN pg_class c ON c.relname = col.table_name AND c.relkind IN ('r', 'p')
            WHERE col.table_schema = 'public' AND col.column_name = 'tenant_id'
        """)
        tables = cursor.fetchall()
    assert tables, "expected tenant-owned tables"
    unprotected = [name for name, enabled, forced, policies in tables if not (enabled and forced and policies >= 4)]
    assert unprotected == []


def test_application_role_is_neither_owner_nor_superuser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        assert cursor.fetchone()[0] == 0


def test_raw_sql_with_no_tenant_set_sees_no_tenant_rows(two_tenants):
    with dangerously_unscoped(reason="test: count what exists"):
        assert len(_membership_tenant_ids()) == 2
    assert _membership_tenant_ids() == set()


def test_raw_sql_with_tenant_a_set_sees_none_of_tenant_b(two_tenants):
    with tenant_scope(two_tenants.a.tenant):
        assert _membership_tenant_ids() == {two_tenants.a.tenant.pk}
    with tenant_scope(two_tenants.b.tenant):
        assert _membership_tenant_ids() == {two_tenants.b.tenant.pk}


def test_rls_refuses_writing_a_row_into_another_tenant(two_tenants, user_factory):
    stranger = user_factory()
    with tenant_scope(two_tenants.a.tenant):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO tenants_membership (tenant_id, user_id, role, created_at) VALUES (%s, %s, 'owner', now())",
                    [two_tenants.b.tenant.pk, stranger.pk],
                )


def test_rls_hides_other_tenant_rows_from_update_and_delete(two_tenants):
    with tenant_scope(two_tenants.a.tenant):
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tenants_membership SET role = 'auditor' WHERE tenant_id = %s", [two_tenants.b.tenant.pk])
            assert cursor.rowcount == 0
            cursor.execute("DELETE FROM tenants_membership WHERE tenant_id = %s", [two_tenants.b.tenant.pk])
            assert cursor.rowcount == 0
    with tenant_scope(two_tenants.b.tenant):
        assert Membership.objects.count() == 4


def test_manager_raises_when_no_tenant_is_in_scope(two_tenants):
    with pytest.raises(TenantScopeMissing):
        list(Membership.objects.all())


def test_manager_is_scoped_to_the_current_tenant(two_tenants):
    with tenant_scope(two_tenants.a.tenant):
        tenants = set(Membership.objects.values_list("tenant_id", flat=True))
    assert tenants == {two_tenants.a.tenant.pk}


def test_nested_scopes_restore_the_outer_tenant(two_tenants):
    with tenant_scope(two_tenants.a.tenant):
        with tenant_scope(two_tenants.b.tenant):
            assert _membership_tenant_ids() == {two_tenants.b.tenant.pk}
        assert _membership_tenant_ids() == {two_tenants.a.tenant.pk}
        assert set(Membership.objects.values_list("tenant_id", flat=True)) == {two_tenants.a.tenant.pk}


def test_unscoped_access_is_explicit_and_sees_every_tenant(two_tenants):
    with dangerously_unscoped(reason="test"):
        assert Membership.objects.count() == 8
    with pytest.raises(TenantScopeMissing):
        Membership.objects.count()


def test_user_sees_only_their_own_memberships_before_choosing_a_tenant(two_tenants):
    from tenants.context import rls_user
    from tenants.selectors import user_memberships

    user = two_tenants.a.investigator
    with transaction.atomic(), rls_user(user_id=user.pk):
        assert [m.tenant for m in user_memberships(user=user)] == [two_tenants.a.tenant]
        # Even asking raw SQL for everything returns the user's rows only.
        with connection.cursor() as cursor:
            cursor.execute("SELECT user_id FROM tenants_membership")
            assert {row[0] for row in cursor.fetchall()} == {user.pk}


def test_membership_is_unique_per_user_and_tenant(two_tenants):
    with tenant_scope(two_tenants.a.tenant), pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(tenant=two_tenants.a.tenant, user=two_tenants.a.owner, role="auditor")


def _rows(sql: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_raw_sql_sees_only_the_tenant_in_scopes_invitations(two_tenants):
    from datetime import timedelta

    from django.utils import timezone

    from tenants.models import Invitation

    for world in (two_tenants.a, two_tenants.b):
        with tenant_scope(world.tenant):
            Invitation.objects.create(tenant=world.tenant, email=f"x@{world.tenant.slug}.test", role="auditor",
                                      token_hash=world.tenant.slug.ljust(64, "0"),
                                      expires_at=timezone.now() + timedelta(days=1))
    with tenant_scope(two_tenants.a.tenant):
        assert _rows("SELECT tenant_id FROM tenants_invitation") == [(two_tenants.a.tenant.pk,)]
        assert _rows(f"UPDATE tenants_invitation SET role = 'owner' WHERE tenant_id = {two_tenants.b.tenant.pk}"
                     " RETURNING id") == []
        assert _rows(f"DELETE FROM tenants_invitation WHERE tenant_id = {two_tenants.b.tenant.pk} RETURNING id") == []
    assert _rows("SELECT id FROM tenants_invitation") == []  # no scope: nothing
    with dangerously_unscoped(reason="test"):
        assert len(_rows("SELECT id FROM tenants_invitation WHERE role = 'auditor'")) == 2


def test_the_platform_apis_stored_responses_are_invisible_to_every_tenant(two_tenants, user_factory):
    from portal.api.models import IdempotencyRecord

    operator = user_factory(is_staff=True)
    with dangerously_unscoped(reason="test: an operator's stored response"):
        IdempotencyRecord.objects.create(tenant=None, staff_user=operator, key="k", method="POST", path="/x",
                                         fingerprint="0" * 64, response_status=201, response_body={"id": 1})
    for world in (two_tenants.a, two_tenants.b):
        with tenant_scope(world.tenant):
            assert _rows("SELECT id FROM api_idempotencyrecord") == []
            assert _rows("DELETE FROM api_idempotencyrecord RETURNING id") == []
    with dangerously_unscoped(reason="test"):
        assert len(_rows("SELECT id FROM api_idempotencyrecord")) == 1

"""The database roles and what each may do (docs/architecture.md, Isolation in the database):
connected as each role, the grants are what the documentation says."""

import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from portal.core.management.commands.migrate import PRIVILEGES_WITHHELD, PRIVILEGES_WITHHELD_FROM_APP
from portal.runtime.database import database_drop, owner_psycopg_connect
from tests.factories import app_role_connect

pytestmark = pytest.mark.django_db(transaction=True)

# Secrets the application's role must not read, whatever claim it sets.
SECRETS = [
    "SELECT * FROM tenants_credential",
    "SELECT * FROM portal_secret",
    "SELECT * FROM portal_claim_key",
    "SELECT * FROM django_session",
    "SELECT * FROM compliance_auditchainhead",
]
# Writes only SECURITY DEFINER functions may make.
WRITES = [
    "INSERT INTO compliance_auditevent (seq, position, actor_label, action, target_type, target_id, details,"
    " created_at, prev_hash, hash) VALUES (-1, -1, 'x', 'x', '', '', '{}', now(), '', '')",
    "UPDATE compliance_auditevent SET action = 'x'",
    "DELETE FROM compliance_auditevent",
    "UPDATE compliance_auditchainhead SET position = 0",
    "INSERT INTO django_session VALUES ('k', 'd', now())",
    "UPDATE tenants_credential SET password = 'x'",
    "UPDATE portal_secret SET secret_hash = 'x'",
    "SELECT portal_secret_set('api_key', 1, 1, 'forged', 'x')",
    # Accounts: no self-made operator, no hijacked e-mail for a password reset, no password set.
    "INSERT INTO tenants_user (password, is_superuser, email, full_name, is_staff, is_active, date_joined,"
    " credential_stamp) VALUES ('', false, 'attacker@evil.test', '', true, true, now(), 'x')",
    "UPDATE tenants_user SET email = 'attacker@evil.test' || id",
    "UPDATE tenants_user SET is_staff = true",
    "UPDATE tenants_user SET is_active = false",
    "SELECT portal_password_set(id, 'md5$salt$hash') FROM tenants_user",
    # Tenants: no entitlement, reactivation, new or deleted tenant, nor another tenant's settings.
    "UPDATE tenants_tenant SET may_search_platform_index = true",
    "UPDATE tenants_tenant SET status = 'active'",
    "UPDATE tenants_tenant SET probe_retention_days = 3650",
    "DELETE FROM tenants_tenant",
    # Schedules: a row would make the worker run a task (only the platform's role writes them).
    "INSERT INTO django_celery_beat_periodictask DEFAULT VALUES",
    "UPDATE django_celery_beat_periodictask SET args = '[1]'",
    "DELETE FROM django_celery_beat_periodictask",
]


def _app_connect() -> psycopg.Connection:
    return app_role_connect(autocommit=True)


@pytest.mark.parametrize("alias", ["default", "platform"])
def test_the_application_and_platform_roles_own_nothing_and_cannot_grant_themselves_more(alias):
    with app_role_connect(autocommit=True, alias=alias) as app:
        role = app.execute("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                           " WHERE rolname = current_user").fetchone()
        assert role == (False, False, False, False)
        assert app.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                           " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
                           ).fetchone() == (0,)
        assert app.execute("SELECT has_schema_privilege('public', 'CREATE')").fetchone() == (False,)


@pytest.mark.parametrize("sql", SECRETS + WRITES)
def test_the_application_role_cannot(sql, two_tenants):
    with _app_connect() as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute(sql)


# The test database alone grants TRUNCATE on the tables of Django's models, which transactional
# tests empty between tests (tests/conftest.py).
_TEST_TRUNCATED = {"compliance_auditevent", "compliance_auditchainhead", "django_session",
                   *PRIVILEGES_WITHHELD_FROM_APP}


@pytest.mark.parametrize("alias", ["default", "platform"])
def test_the_grants_match_the_declared_lists(alias):
    """Every withheld privilege, as PostgreSQL reports it for the application's role and the
    platform's; the platform's keeps what is withheld from the application's alone."""
    role = settings.DATABASES[alias]["USER"] if alias == "platform" else settings.DATABASE_APP_ROLE
    withheld = {**PRIVILEGES_WITHHELD, **(PRIVILEGES_WITHHELD_FROM_APP if alias == "default" else {})}
    with app_role_connect(autocommit=True, alias=alias) as app:
        for table, privileges in withheld.items():
            names = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"] if privileges == "ALL" else \
                [name.strip() for name in privileges.split(",")]
            for name in names:
                if name == "TRUNCATE" and table in _TEST_TRUNCATED:
                    continue
                assert app.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, name]).fetchone() == (
                    False,), f"{role} has {name} on {table}"
        if alias == "platform":
            for table in PRIVILEGES_WITHHELD_FROM_APP:
                assert app.execute("SELECT has_table_privilege(%s, %s, 'INSERT')", [role, table]).fetchone() == (True,)


def test_the_owner_reads_what_the_application_cannot(two_tenants):
    with owner_psycopg_connect(dbname=connection.settings_dict["NAME"]) as owner:
        assert owner.execute("SELECT count(*) FROM portal_claim_key").fetchone() == (1,)
        assert owner.execute("SELECT count(*) FROM tenants_credential").fetchone()[0] > 0


def test_passwords_are_checked_without_the_application_reading_a_hash(two_tenants):
    from tests.factories import TEST_PASSWORD

    user = two_tenants.a.owner
    assert user.check_password(TEST_PASSWORD)
    assert not user.check_password(TEST_PASSWORD + "x")
    with _app_connect() as app:
        parameters = app.execute("SELECT portal_password_parameters(%s)", [user.pk]).fetchone()[0]
        # The public part only: algorithm and salt, never the hash.
        with owner_psycopg_connect(dbname=connection.settings_dict["NAME"]) as owner:
            stored = owner.execute("SELECT password FROM tenants_credential WHERE user_id = %s", [user.pk]
                                   ).fetchone()[0]
        assert stored.startswith(parameters + "$") and stored.rsplit("$", 1)[1] not in parameters
        # Django's own column holds nothing.
        assert app.execute("SELECT password FROM tenants_user WHERE id = %s", [user.pk]).fetchone() == ("",)
        assert app.execute("SELECT portal_password_matches(%s, 'md5$x$y')", [user.pk]).fetchone() == (False,)


def test_the_portal_still_works_as_the_application_role(client, two_tenants):
    """Log-in and a tenant page with the hash hidden and the session in the cache; a password
    change elsewhere signs that session out (sessions hang on the credential stamp)."""
    from tests.factories import TEST_PASSWORD

    user = two_tenants.a.owner
    assert client.post("/accounts/login/", {"username": user.email, "password": TEST_PASSWORD}).status_code == 302
    page = f"/t/{two_tenants.a.tenant.slug}/"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200
    user.set_password("a-new-long-passphrase-9")
    user.save()
    assert client.get(page).status_code == 302  # back to the log-in page
    assert user.check_password("a-new-long-passphrase-9") and not user.check_password(TEST_PASSWORD)


def test_a_tenant_changes_only_its_own_settings_in_its_own_scope(two_tenants):
    from django.db import transaction

    from tenants.context import tenant_scope

    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    with tenant_scope(a), connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_tenant SET probe_retention_days = 7 WHERE id = %s", [a.pk])
        for sql, params in (("UPDATE tenants_tenant SET probe_retention_days = 7 WHERE id = %s", [b.pk]),
                            ("UPDATE tenants_tenant SET may_search_platform_index = NOT may_search_platform_index"
                             " WHERE id = %s", [a.pk])):
            with pytest.raises(Exception, match="changed only by platform code"), transaction.atomic():
                cursor.execute(sql, params)
    a.refresh_from_db()
    assert a.probe_retention_days == 7


def test_a_tenants_search_limits_are_its_own_to_tighten_and_no_one_elses(two_tenants):
    """tenants/0012 lets a tenant set its own search limits in its signed scope: not another
    tenant's, and not with a setting an injected query forges."""
    from django.db import transaction

    from tenants.context import tenant_scope

    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    with tenant_scope(a), connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_tenant SET search_min_threshold = 0.95, search_max_k = 5 WHERE id = %s", [a.pk])
        with pytest.raises(Exception, match="changed only by platform code"), transaction.atomic():
            cursor.execute("UPDATE tenants_tenant SET search_min_threshold = 0.5 WHERE id = %s", [b.pk])
    with _app_connect() as app:
        app.execute("SELECT set_config('portal.tenant_id', %s, false)", [str(b.pk)])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("UPDATE tenants_tenant SET search_min_threshold = 0.5 WHERE id = %s", [b.pk])
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.search_min_threshold, a.search_max_k, b.search_min_threshold) == (0.95, 5, None)


def test_the_platforms_tables_are_written_only_by_platform_code(two_tenants):
    """An injected query cannot file, change or withdraw an order (the worker would act on it),
    plant a file for the worker to delete, or touch opt-outs and staff tokens."""
    from portal.compliance.models import RegulatoryOrder
    from portal.compliance.orders import order_create
    from tests.builders import order_fields

    order = order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"]))
    attempts = [
        ("UPDATE compliance_regulatoryorder SET status = 'active' WHERE id = %s", [order.pk]),
        ("UPDATE compliance_regulatoryorder SET scope_all = true, offboard_tenant_ids = ARRAY[%s]::bigint[]",
         [two_tenants.b.tenant.pk]),
        ("DELETE FROM compliance_regulatoryorder WHERE id = %s", [order.pk]),
        ("INSERT INTO compliance_orderfiledeletion (order_id, path, kind) VALUES (%s, 'images/2/x.jpg', 'original')",
         [order.pk]),
        ("INSERT INTO compliance_regulatoryorder SELECT (jsonb_populate_record(null::compliance_regulatoryorder,"
         " to_jsonb(o) || jsonb_build_object('id', -1, 'reference', 'FORGED'))).*"
         " FROM compliance_regulatoryorder o WHERE id = %s", [order.pk]),
    ]
    with _app_connect() as app:
        for sql, params in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="written only by platform code"):
                app.execute(sql, params)
    order.refresh_from_db()
    assert order.status == RegulatoryOrder.Status.DRAFT and RegulatoryOrder.objects.count() == 1


def test_a_database_drop_waits_for_the_application_role_to_leave_since_the_owner_may_not_end_it():
    """database_drop (benchmarks' databases, the restore's replaced one): the owner's FORCE may not
    end the application's session, so the drop waits for it to leave, and fails if it stays."""
    name = f"{connection.settings_dict['NAME']}_drop_wait"
    with owner_psycopg_connect(dbname="postgres") as owner:
        owner.execute(f'DROP DATABASE IF EXISTS "{name}"')
        owner.execute(f'CREATE DATABASE "{name}"')
        try:
            app = app_role_connect(autocommit=True, dbname=name)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                database_drop(owner.cursor(), name=name, wait_seconds=0.5)
            assert owner.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone() == (1,)

            leaves = threading.Timer(1.0, app.close)
            leaves.start()
            started = time.monotonic()
            database_drop(owner.cursor(), name=name, wait_seconds=30)
            assert time.monotonic() - started >= 0.9
            assert owner.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name]).fetchone() == (0,)
        finally:
            app.close()
            owner.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

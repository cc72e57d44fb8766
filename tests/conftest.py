"""Shared fixtures: the test database (made and migrated as the owner role, used as the app
role), and two tenants with members in each, so every test can check the other tenant too."""

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import TransactionTestCase
from django.utils import translation

from portal.runtime.database import owner_connection
from tenants.models import Membership, Tenant, User
from tenants.context import PLATFORM_ALIAS
from tests.builders import world_gallery, yearly_world  # noqa: F401  (fixtures: a gallery across tenants and the platform index; a year of searches)
from tests.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_keepdb,
                    django_db_modify_db_settings):
    # django_db_modify_db_settings gives each xdist worker its own test database name.
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock(), owner_connection() as owner:
        config = setup_databases(verbosity=request.config.option.verbose, interactive=False, keepdb=django_db_keepdb)
        # Transactional tests (live server, browser) empty tables with TRUNCATE between tests; only
        # the test database grants it, on the tables of Django's models only, since TRUNCATE is not
        # bound by row-level security.
        with owner.cursor() as cursor:
            app_role = connection.ops.quote_name(settings.DATABASE_APP_ROLE)
            for table in connection.introspection.django_table_names(only_existing=True):
                cursor.execute(f"GRANT TRUNCATE ON {connection.ops.quote_name(table)} TO {app_role}")
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock(), owner_connection():
            teardown_databases(config, verbosity=request.config.option.verbose)


@pytest.fixture(autouse=True)
def _two_factor_requirement(request, settings):
    """Members of law-enforcement tenants must use two-factor log-in. Most tests sign members of
    two_tenants.a (law enforcement) in with a password alone, about something else; the tests of
    the rule itself are marked `two_factor_enforced` (settings.TWO_FACTOR_REQUIREMENT_ENFORCED)."""
    settings.TWO_FACTOR_REQUIREMENT_ENFORCED = request.node.get_closest_marker("two_factor_enforced") is not None


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (tests/smtp.py) that Django's SMTP backend sends to, for this test."""
    from tests.smtp import SmtpServer

    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server


# Every test may use both connections (tenants.context): the application's and the platform's.
TransactionTestCase.databases = {DEFAULT_DB_ALIAS, PLATFORM_ALIAS}


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(item.fixturenames))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _platform_connection_share(shared=not _transactional(item))


_shared = {"now": False}
_APP_ROLE = {key: connections.settings[DEFAULT_DB_ALIAS][key] for key in ("USER", "PASSWORD")}


def _platform_connection_share(*, shared: bool) -> None:
    """Most tests run inside one transaction that is rolled back at the end, so the two
    connections cannot each have their own: what one wrote the other would never see. There the
    `platform` alias is the `default` connection itself, logged in as the platform's role (RLS
    still binds it; tenant scopes still need their signed claim). Transactional tests (the
    browser, the live server, real workers) commit, and use two real connections as the portal
    does: the application's role on `default`, the platform's on `platform`. The roles' own
    limits are proved by tests that connect as each role (tests/core/test_database_roles.py)."""
    if _shared["now"] == shared:
        return
    for wrapper in connections.all(initialized_only=True):
        wrapper.close()
    default = connections.settings[DEFAULT_DB_ALIAS]
    role = connections.settings[PLATFORM_ALIAS] if shared else _APP_ROLE
    default.update(USER=role["USER"], PASSWORD=role["PASSWORD"])
    if shared:
        connections[PLATFORM_ALIAS] = connections[DEFAULT_DB_ALIAS]
    else:
        # The test database's name, which the test mirror set-up may have given the shared one.
        connections.settings[PLATFORM_ALIAS]["NAME"] = default["NAME"]
        del connections[PLATFORM_ALIAS]
    _shared["now"] = shared


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _a_cache_of_its_own(settings):
    """Rate-limit counters (API, public forms) live in the cache; the embedded Redis would carry
    them from one test, and one run, to the next."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"test-{next(_cache_names)}"}}


@pytest.fixture(autouse=True)
def _webhooks_to_local_receivers(settings):
    """Tests' receivers listen on 127.0.0.1; production refuses such addresses (docs/api.md)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture(autouse=True)
def _language_of_its_own():
    """A request in French through the test client (LocaleMiddleware) leaves French active in the
    thread; without this, the next test would get its messages in French."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Pictures, crops and probes written by a test land in its own folder, never in var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _journal_and_restore_marker_of_its_own(settings, tmp_path):
    """The enforcement journal and the restore marker of a test are its own, never var/'s."""
    settings.ENFORCEMENT_JOURNAL_DIR = tmp_path / "enforcement-journal"
    settings.RESTORE_MARKER = tmp_path / "restore-in-progress"


@pytest.fixture(autouse=True)
def _signing_key_in_a_temporary_folder(settings, tmp_path):
    """A test's signing key is its own, never var/signing's."""
    settings.SIGNING_KEY_FILE = tmp_path / "signing" / "ed25519.pem"


@pytest.fixture
def faces_dir() -> Path:
    """The real face pictures in ../shared/faces (or FACES_DIR). Missing: skip, but fail under CI."""
    path = Path(os.environ.get("FACES_DIR", Path(__file__).resolve().parent.parent.parent / "shared" / "faces"))
    if not (path / "manifest.csv").exists():
        message = f"The face pictures are not at {path}; set FACES_DIR to their folder."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


_cache_names = itertools.count()


@dataclass
class TenantWorld:
    tenant: Tenant
    owner: User
    admin: User
    investigator: User
    auditor: User


@dataclass
class TwoTenants:
    a: TenantWorld
    b: TenantWorld


def _world(**tenant_fields) -> TenantWorld:
    tenant = TenantFactory(**tenant_fields)
    users = {role: MembershipFactory(tenant=tenant, role=role).user for role in Membership.Role.values}
    return TenantWorld(tenant=tenant, **users)


@pytest.fixture
def two_tenants(db) -> TwoTenants:
    return TwoTenants(
        a=_world(slug="agency-a", name="Agency A", kind=Tenant.Kind.LAW_ENFORCEMENT, home_country="GB",
                 may_search_platform_index=True),
        b=_world(slug="retailer-b", name="Retailer B", kind=Tenant.Kind.RETAIL, home_country="FR"),
    )


@pytest.fixture
def user_factory():
    return UserFactory

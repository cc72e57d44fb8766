from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction

from portal.runtime.database import connected_as_owner, pgvector_require
from tenants.claims import KEY_TABLE
from tenants.context import rls_user


@register(Tags.database)
def pgvector_installed(app_configs, databases=None, **kwargs):
    errors = []
    for alias in databases or []:
        try:
            pgvector_require(connection=connections[alias])
        except ImproperlyConfigured as problem:
            errors.append(Error(str(problem), id="portal.E001"))
    return errors


@register(Tags.database)
def app_role_is_bound_by_rls(app_configs, databases=None, **kwargs):
    """The application's role must own no table and not be a superuser, or RLS would not bind it."""
    errors = []
    for alias in databases or []:
        if connected_as_owner(connection=connections[alias]):
            continue  # migrations run as the owner on purpose
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            (privileged,) = cursor.fetchone()
            cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
            (owned,) = cursor.fetchone()
        if privileged or owned:
            errors.append(Error(
                "The application's database role is a superuser, bypasses RLS or owns tables, so row-level "
                "security would not bind it.",
                hint="Connect with a role that owns nothing (DATABASE_URL) and migrate as the owner (DATABASE_OWNER_URL).",
                id="portal.E002",
            ))
    return errors


@register(Tags.database)
def rls_claim_key_matches(app_configs, databases=None, **kwargs):
    """The database's copy of the claim key must be RLS_CLAIM_KEY's, or every claim the portal
    signs fails and every tenant page shows nothing (tenants.claims)."""
    errors = []
    for alias in databases or []:
        if alias != "default" or connected_as_owner(connection=connections[alias]):
            continue  # claims are signed on the application's connection only
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [KEY_TABLE])
            if not cursor.fetchone()[0]:
                continue  # not migrated yet
        with transaction.atomic(using=alias), rls_user(user_id=None), connections[alias].cursor() as cursor:
            cursor.execute("SELECT portal_claim_valid()")
            (valid,) = cursor.fetchone()
        if not valid:
            errors.append(Error(
                "The database's copy of the row-level security claim key differs from RLS_CLAIM_KEY, so every "
                "tenant's data would look empty.",
                hint="Run `manage.py migrate`, which installs the key (RLS_CLAIM_KEY defaults to DJANGO_SECRET_KEY).",
                id="portal.E003",
            ))
    return errors

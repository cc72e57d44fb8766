from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
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


@register(Tags.database)
def platform_role_recognised(app_configs, databases=None, **kwargs):
    """The `platform` alias's sessions must be the ones PostgreSQL lets hold the platform scope
    (tenants/0010), or every platform page, order and task would see no tenant's rows."""
    if "platform" not in (databases or []) or connected_as_owner(connection=connections["platform"]):
        return []
    with connections["platform"].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('portal_session_is_platform()') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []  # not migrated yet
        cursor.execute("SELECT portal_session_is_platform()")
        (recognised,) = cursor.fetchone()
    if recognised:
        return []
    return [Error(
        f"The platform connection's role ({connections['platform'].settings_dict['USER']}) is not the one the "
        "database lets hold the platform scope, so platform work would see no tenant's data.",
        hint="Run `manage.py migrate`, which names PLATFORM_DATABASE_URL's role in the database.",
        id="portal.E004",
    )]


@register(Tags.security, deploy=True)
def platform_role_separate(app_configs, **kwargs):
    """Platform work should not share the application's role: then SQL run through the connection
    that serves tenants could, with the claim key, reach every tenant's rows."""
    if settings.DATABASE_PLATFORM_ROLE != settings.DATABASE_APP_ROLE:
        return []
    return [Warning(
        "Platform work connects with the same database role as tenants' pages and the API.",
        hint="Set PLATFORM_DATABASE_URL to a second role that owns nothing (see docs/architecture.md).",
        id="portal.W005",
    )]


@register()
def restore_finished(app_configs, **kwargs):
    """An unfinished restore keeps the portal shut (run_portal runs the checks before it starts)."""
    from portal.core.restores import restore_pending

    pending = restore_pending()
    if pending is None:
        return []
    return [Error(
        f"A restore from a backup is unfinished ({pending.strip()}): the restored data may still hold what an "
        f"order or an erasure made after the backup covers.",
        hint=f"Run `manage.py restore` again to its end; it removes {settings.RESTORE_MARKER} when nothing covered "
             f"remains.",
        id="portal.E006",
    )]

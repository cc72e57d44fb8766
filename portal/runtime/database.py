"""The database roles: the owner's (migrations), the application's and the platform's (both own
nothing and are bound by RLS; only the platform's sessions may hold the platform scope)."""

import time
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

APP_PRIVILEGES_SQL = """
GRANT USAGE ON SCHEMA public TO {app};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app};
"""


@contextmanager
def owner_connection(alias: str = "default"):
    """Runs the block with `alias` connected as the table owner (for migrations and test set-up)."""
    connection = connections[alias]
    app_settings = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    owner = settings.DATABASE_OWNER
    connection.close()
    connection.settings_dict.update(USER=owner["USER"], PASSWORD=owner.get("PASSWORD", ""))
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(app_settings)


@contextmanager
def database_name_use(name: str):
    """Points every connection alias (the application's and the platform's) at another database
    on the same server for the block, e.g. a benchmark's throw-away one."""
    originals = {alias: connections[alias].settings_dict["NAME"] for alias in connections}
    for alias in originals:
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = name
    try:
        yield
    finally:
        for alias, original in originals.items():
            connections[alias].close()
            connections[alias].settings_dict["NAME"] = original


def owner_psycopg_connect(*, dbname: str | None = None, autocommit: bool = True) -> psycopg.Connection:
    """A plain psycopg connection as the table owner, outside Django's connection handling: for
    what cannot run in a transaction (VACUUM, REINDEX CONCURRENTLY) and for bulk loads. `dbname`
    defaults to the portal's database."""
    owner = settings.DATABASE_OWNER
    params = {"host": owner.get("HOST") or None, "port": owner.get("PORT") or None, "user": owner["USER"],
              "password": owner.get("PASSWORD") or None,
              "dbname": dbname or connections["default"].settings_dict["NAME"]}
    return psycopg.connect(autocommit=autocommit, **{key: value for key, value in params.items() if value})


def database_drop(cursor, *, name: str, wait_seconds: float = 30.0) -> None:
    """DROP DATABASE IF EXISTS `name` WITH (FORCE), as the owner, on `cursor` (outside a
    transaction). FORCE ends the owner's own sessions, but the owner is not a superuser and may not
    end another role's: the application's and the platform's server processes can still be exiting
    after their connections closed (a loaded machine made a drop fail so). So it waits up to
    `wait_seconds` for them to leave; if some stay, the DROP fails with PostgreSQL's own error and
    nothing is dropped."""
    deadline = time.monotonic() + wait_seconds
    while True:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename <> current_user", [name])
        if cursor.fetchone()[0] == 0 or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    quoted = '"' + name.replace('"', '""') + '"'
    cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def app_role_grant(*, connection, withheld: dict[str, str] | None = None,
                   withheld_from_app: dict[str, str] | None = None) -> None:
    """Lets the application's and the platform's roles read and write every table the owner has
    or will create, except the privileges `withheld` maps a table to ("ALL", or e.g. "INSERT,
    UPDATE, DELETE"): only the owner, and its SECURITY DEFINER functions, has those. The
    application's role also lacks those of `withheld_from_app`, which the platform's keeps."""
    quote = connection.ops.quote_name
    owner = connection.settings_dict["USER"]
    roles = {settings.DATABASE_APP_ROLE: {**(withheld or {}), **(withheld_from_app or {})}}
    if settings.DATABASE_PLATFORM_ROLE != settings.DATABASE_APP_ROLE:
        roles[settings.DATABASE_PLATFORM_ROLE] = withheld or {}
    with connection.cursor() as cursor:
        for role, role_withheld in roles.items():
            if role == owner:
                continue
            cursor.execute(APP_PRIVILEGES_SQL.format(app=quote(role)))
            for table, privileges in role_withheld.items():
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [table])
                if cursor.fetchone()[0]:  # absent when migrated to a point before its migration
                    cursor.execute(f"REVOKE {privileges} ON {quote(table)} FROM {quote(role)}, PUBLIC")


def pgvector_version(*, connection) -> tuple[int, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'),"
                       " (SELECT default_version FROM pg_available_extensions WHERE name = 'vector'))")
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return tuple(int(part) for part in row[0].split(".") if part.isdigit())


def connected_as_owner(*, connection) -> bool:
    user = connection.settings_dict["USER"]
    return user == settings.DATABASE_OWNER["USER"] and user != settings.DATABASE_APP_ROLE


def pgvector_require(*, connection) -> None:
    """Stops start-up with a clear message when the server's pgvector is missing or too old."""
    required = settings.MINIMUM_PGVECTOR_VERSION
    found = pgvector_version(connection=connection)
    wanted = ".".join(map(str, required))
    if found is None:
        raise ImproperlyConfigured(
            f"The database server at {connection.settings_dict['HOST']} has no pgvector extension. "
            f"Install pgvector {wanted} or newer on it (e.g. the postgresql-NN-pgvector package), or unset "
            f"DATABASE_URL to use the embedded PostgreSQL, which ships it."
        )
    if found < required:
        raise ImproperlyConfigured(
            f"The database server's pgvector is {'.'.join(map(str, found))}; the portal needs {wanted} or newer "
            f"(HNSW iterative scans). Upgrade it and run ALTER EXTENSION vector UPDATE, or unset DATABASE_URL to "
            f"use the embedded PostgreSQL."
        )


def pgvector_adapters_register(sender=None, connection=None, **kwargs) -> None:
    """Receiver of connection_created: pgvector's psycopg adapters on every new connection, so raw
    queries pass an embedding (a NumPy array) as a parameter and pgvector serialises it.

    It costs one catalogue query per new connection (not per query). It is not cached across
    connections: the benchmarks drop and recreate their database in one process, which gives the
    vector type a new oid. Skipped while the database has no vector type yet (the first
    migration creates the extension)."""
    if connection is None or connection.vendor != "postgresql":
        return
    from pgvector.psycopg.vector import register_vector_info
    from psycopg.types import TypeInfo

    info = TypeInfo.fetch(connection.connection, "vector")
    if info is not None:
        register_vector_info(connection.connection, info)

"""Streaming replicas of the primary database, for search reads (settings.DATABASE_REPLICA_URLS).

Each URL becomes a database alias, `replica_1`, `replica_2`, ... in the order given. A replica is
a physical (streaming) standby of the primary, so it has the primary's roles, tables, functions,
row-level-security policies and claim key: the URL names the application's role (`portal_app`),
and a tenant's scope there is signed and checked exactly as on the primary
(tenants.context.replica_read_scope). Only the vector query of a search runs there
(portal/search/selectors.py); docs/scaling.md gives the rules that keep orders effective at once.
No Django import here: settings.py calls it.
"""

from __future__ import annotations

import environ

REPLICA_ALIAS_PREFIX = "replica_"


def replica_databases(urls: list[str], *, primary: dict) -> dict[str, dict]:
    """The DATABASES entries of the replicas at `urls`, named `replica_1`, `replica_2`, ...;
    `primary` is the `default` entry, whose database name and connection age they share. Under
    test they mirror `default`, so the test runner makes no database for them."""
    databases = {}
    for number, url in enumerate((url.strip() for url in urls if url.strip()), start=1):
        config = environ.Env.db_url_config(url)
        config["NAME"] = config.get("NAME") or primary["NAME"]
        config["CONN_MAX_AGE"] = primary.get("CONN_MAX_AGE", 0)
        config["TEST"] = {"MIRROR": "default"}
        databases[f"{REPLICA_ALIAS_PREFIX}{number}"] = config
    return databases

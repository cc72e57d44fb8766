"""Row-level security for tenant-owned tables, as migration operations.

Every table with a tenant_id column gets RLS enabled and forced, with one policy that admits a
row when it belongs to the tenant in scope (`portal.tenant_id`, set with SET LOCAL by
tenants.context) or when platform code declared itself unscoped (`portal.scope = 'all'`); since
tenants/0004 both count only under a valid signed claim (tenants.claims).
Tables that also hold the operator's platform index (tenant_id NULL) let entitled tenants read
those rows, never write them.
"""

from django.db import migrations

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION portal_tenant_id() RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('portal.tenant_id', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION portal_user_id() RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('portal.user_id', true), '')::bigint $$;
CREATE OR REPLACE FUNCTION portal_unscoped() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('portal.scope', true), '') = 'all' $$;
CREATE OR REPLACE FUNCTION portal_platform_index_readable() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('portal.platform_index', true), '') = 'on' $$;
"""


class CreateRLSFunctions(migrations.RunSQL):
    def __init__(self):
        super().__init__(FUNCTIONS_SQL, reverse_sql=migrations.RunSQL.noop)


class EnableTenantRLS(migrations.RunSQL):
    """RLS on `table`. `platform_rows` lets entitled tenants read rows whose tenant_id is NULL;
    `own_user_rows` lets a signed-in user read rows whose user_id is theirs (memberships)."""

    def __init__(self, table: str, *, platform_rows: bool = False, own_user_rows: bool = False):
        # Each check is a sub-select, so PostgreSQL verifies the claim once per statement. The
        # boolean ones are compared as integers: the planner then estimates them as rarely true
        # (as it did the plain settings), where a bare boolean parameter (or "= true", which it
        # folds away) counts as true half the time and steers small tenants' searches off their
        # btree index onto the HNSW graph.
        write_check = "(SELECT portal_unscoped())::int = 1 OR tenant_id = (SELECT portal_tenant_id())"
        read_check = write_check
        if platform_rows:
            read_check += " OR (tenant_id IS NULL AND (SELECT portal_platform_index_readable())::int = 1)"
        if own_user_rows:
            read_check += " OR user_id = (SELECT portal_user_id())"
        super().__init__(
            sql=f"""
                ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_read ON {table} FOR SELECT USING ({read_check});
                CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK ({write_check});
                CREATE POLICY tenant_update ON {table} FOR UPDATE USING ({write_check}) WITH CHECK ({write_check});
                CREATE POLICY tenant_delete ON {table} FOR DELETE USING ({write_check});
            """,
            reverse_sql=f"""
                DROP POLICY IF EXISTS tenant_read ON {table};
                DROP POLICY IF EXISTS tenant_insert ON {table};
                DROP POLICY IF EXISTS tenant_update ON {table};
                DROP POLICY IF EXISTS tenant_delete ON {table};
                ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
                ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
            """,
        )

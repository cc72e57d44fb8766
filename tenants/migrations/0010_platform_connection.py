"""Only the platform's connection may hold the platform scope.

Until now a validly signed claim of `portal.scope = 'all'` was honoured in any session, so the
connection that serves tenants' pages and the API could lift every tenant's row-level security
if the claim key ever leaked to it. The platform scope now also requires the session's login
role (`session_user`, which SQL cannot change without superuser rights; `SET ROLE` changes only
`current_user`) to be one of the roles in `portal_platform_role`: the role of the `platform`
database alias, which `migrate` writes there (tenants.claims.platform_role_install). Unscoped
work reaches the database only through that alias (tenants.context.PlatformWorkRouter). The
owner's sessions keep their unsigned platform scope: the owner could lift RLS anyway.
"""

from django.db import migrations

SQL = """
CREATE TABLE IF NOT EXISTS portal_platform_role (rolname name PRIMARY KEY);
REVOKE ALL ON portal_platform_role FROM PUBLIC;

CREATE OR REPLACE FUNCTION portal_session_is_platform() RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM public.portal_platform_role r WHERE r.rolname = session_user)
  $$;

CREATE OR REPLACE FUNCTION portal_unscoped() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('portal.scope', true), '') = 'all'
            AND ((public.portal_claim_valid() AND public.portal_session_is_platform())
                 OR public.portal_session_is_owner()) $$;
"""

REVERSE_SQL = """
CREATE OR REPLACE FUNCTION portal_unscoped() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce(current_setting('portal.scope', true), '') = 'all'
            AND (public.portal_claim_valid() OR public.portal_session_is_owner()) $$;
DROP FUNCTION IF EXISTS portal_session_is_platform();
DROP TABLE IF EXISTS portal_platform_role;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0009_tenant_guard")]

    operations = [migrations.RunSQL(SQL, reverse_sql=REVERSE_SQL)]

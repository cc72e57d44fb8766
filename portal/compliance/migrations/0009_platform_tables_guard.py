"""The platform's own tables are written only under the platform's signed claim.

Orders, their reference faces and file-deletion records, and opt-outs and their embeddings have
no tenant, so row-level security does not guard them. Without this, SQL run as the
application could file or activate an order (the enforcement worker would then delete another
tenant's data), withdraw one, plant file paths for the worker to delete, or mark an opt-out done.
A trigger now refuses any insert, update or delete on them unless the platform's claim is in
force: platform code says so with dangerously_unscoped(). The table owner (migrations,
maintenance) counts as the platform, as for row-level security. Staff tokens get the same
trigger in platform/0007.
"""

from django.db import migrations

TABLES = ["compliance_regulatoryorder", "compliance_orderreferenceface", "compliance_orderfiledeletion",
          "compliance_optout", "compliance_optoutembedding"]

SQL = """
CREATE OR REPLACE FUNCTION portal_platform_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT public.portal_unscoped() THEN
    RAISE EXCEPTION '% is written only by platform code', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
""" + "".join(
    f"CREATE OR REPLACE TRIGGER platform_guard BEFORE INSERT OR UPDATE OR DELETE ON {table}"
    f" FOR EACH ROW EXECUTE FUNCTION portal_platform_guard();\n" for table in TABLES)


class Migration(migrations.Migration):
    dependencies = [("compliance", "0008_optout_identity_sealed"), ("tenants", "0009_tenant_guard")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]

"""The tenants table is written only by platform code, except a tenant's own settings.

`tenants_tenant` has no tenant_id of its own to scope, so RLS does not guard it. Without this,
SQL run as the application could entitle its tenant to the platform index, reactivate a suspended
tenant, or change another tenant's retention. A trigger now refuses any insert, delete or change
unless the platform's signed claim is in force, with one exception: a tenant, in its own signed
scope, may change its own settings (case reference required, probe retention).
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION portal_tenant_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF public.portal_unscoped() THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.id = public.portal_tenant_id()
     AND (to_jsonb(NEW) - 'case_reference_required' - 'probe_retention_days')
         = (to_jsonb(OLD) - 'case_reference_required' - 'probe_retention_days') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'tenants are changed only by platform code (a tenant may change its own settings)'
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER tenant_guard BEFORE INSERT OR UPDATE OR DELETE ON tenants_tenant
  FOR EACH ROW EXECUTE FUNCTION portal_tenant_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0008_user_guard")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]

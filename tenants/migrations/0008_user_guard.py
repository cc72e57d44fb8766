"""What SQL run as the application may not do to accounts, whatever it sets.

`tenants_user` has no tenant, so row-level security cannot guard it. Without this, one injected
query could make itself an operator (insert a staff user), or take over another tenant's owner
(change their e-mail, then reset the password by mail). A trigger now refuses, unless the
platform's signed claim is in force (Python code says so with dangerously_unscoped()):

- a new user who is staff or superuser;
- a change of e-mail, staff, superuser or active flags.

`portal_password_set()` likewise stores a hash only under the platform's claim, so a password
is set only by the portal's own code (tenants.credentials), never by an injected call.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION portal_user_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF public.portal_unscoped() THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' AND (NEW.is_staff OR NEW.is_superuser) THEN
    RAISE EXCEPTION 'a staff or superuser account is made only by platform code'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'UPDATE' AND (NEW.email IS DISTINCT FROM OLD.email OR NEW.is_staff IS DISTINCT FROM OLD.is_staff
                           OR NEW.is_superuser IS DISTINCT FROM OLD.is_superuser
                           OR NEW.is_active IS DISTINCT FROM OLD.is_active) THEN
    RAISE EXCEPTION 'an account''s e-mail and flags are changed only by platform code'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER user_guard BEFORE INSERT OR UPDATE ON tenants_user
  FOR EACH ROW EXECUTE FUNCTION portal_user_guard();

CREATE OR REPLACE FUNCTION portal_password_set(p_user_id bigint, p_encoded text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NOT public.portal_unscoped() THEN
    RAISE EXCEPTION 'passwords are set only by platform code' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO public.tenants_credential (user_id, password) VALUES (p_user_id, p_encoded)
  ON CONFLICT (user_id) DO UPDATE SET password = EXCLUDED.password;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_public_ids")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]

"""Password hashes move to a table the application cannot read (tenants.credentials).

`tenants_credential` holds one hash per user; the application's role gets no privilege on it
(portal.core's migrate) and goes through three functions: set a hash, read a hash's public part,
and ask whether a candidate hash matches. Django's `tenants_user.password` column is emptied.
`credential_stamp` replaces the hash wherever Django hashed it into something else (session
verification, reset links); existing users get a random one, which signs every session out once.
"""

from django.db import migrations, models

import tenants.credentials

CREDENTIALS_SQL = """
-- No foreign key: Django empties tenants_user with TRUNCATE in transactional tests, which a
-- reference would refuse. Triggers delete a user's credential with the user instead.
CREATE TABLE tenants_credential (
    user_id bigint PRIMARY KEY,
    password text NOT NULL
);

CREATE OR REPLACE FUNCTION portal_credential_forget() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM public.tenants_credential;
  ELSE
    DELETE FROM public.tenants_credential WHERE user_id = OLD.id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER credential_forget AFTER DELETE ON tenants_user
  FOR EACH ROW EXECUTE FUNCTION portal_credential_forget();
CREATE TRIGGER credential_forget_all AFTER TRUNCATE ON tenants_user
  FOR EACH STATEMENT EXECUTE FUNCTION portal_credential_forget();
REVOKE ALL ON tenants_credential FROM PUBLIC;
INSERT INTO tenants_credential (user_id, password) SELECT id, password FROM tenants_user WHERE password <> '';
UPDATE tenants_user SET password = '';

CREATE OR REPLACE FUNCTION portal_password_set(p_user_id bigint, p_encoded text) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO public.tenants_credential (user_id, password) VALUES (p_user_id, p_encoded)
    ON CONFLICT (user_id) DO UPDATE SET password = EXCLUDED.password
$$;

CREATE OR REPLACE FUNCTION portal_password_parameters(p_user_id bigint) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN c.password LIKE '!%' OR strpos(c.password, '$') = 0 THEN NULL
                ELSE regexp_replace(c.password, '[$][^$]*$', '') END
    FROM public.tenants_credential c JOIN public.tenants_user u ON u.id = c.user_id
    WHERE c.user_id = p_user_id AND u.is_active
$$;

CREATE OR REPLACE FUNCTION portal_password_matches(p_user_id bigint, p_candidate text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce((SELECT c.password = p_candidate AND u.is_active
                     FROM public.tenants_credential c JOIN public.tenants_user u ON u.id = c.user_id
                     WHERE c.user_id = p_user_id), false)
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_signed_claims")]

    operations = [
        migrations.AddField(
            model_name="user", name="credential_stamp",
            field=models.CharField(default=tenants.credentials.credential_stamp_new, editable=False, max_length=32,
                                   help_text="Changes with the password; sessions and reset links depend on it."),
        ),
        migrations.RunSQL("UPDATE tenants_user SET credential_stamp = md5(random()::text || id::text)",
                          migrations.RunSQL.noop),
        migrations.RunSQL(CREDENTIALS_SQL, migrations.RunSQL.noop),
    ]

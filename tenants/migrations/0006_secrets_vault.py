"""A vault for key and token hashes: `portal_secret`, a table the application's role cannot touch.

Like passwords (0005), a key is checked by a SECURITY DEFINER function that answers with the
key's id and tenant when the hash matches, and stored by one that refuses to replace a hash
already there, so SQL run as the application can neither read a hash nor swap in one it knows
(tenants.secrets). API keys (api/0004) and staff tokens (platform/0004) move their hashes here.
`portal_secret_forget()` is the trigger that forgets a secret with its key, including when a
test empties the key's table with TRUNCATE.
"""

from django.db import migrations

VAULT_SQL = """
CREATE TABLE portal_secret (
    kind text NOT NULL,
    owner_id bigint NOT NULL,
    owner_tenant_id bigint,
    prefix text NOT NULL,
    secret_hash text NOT NULL,
    PRIMARY KEY (kind, owner_id),
    UNIQUE (kind, prefix)
);
REVOKE ALL ON portal_secret FROM PUBLIC;

CREATE OR REPLACE FUNCTION portal_secret_set(p_kind text, p_owner_id bigint, p_owner_tenant_id bigint,
                                             p_prefix text, p_secret_hash text) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- A tenant's key is stored only in that tenant's scope; a platform secret only unscoped.
  IF NOT (public.portal_unscoped() OR (p_owner_tenant_id IS NOT NULL
                                       AND p_owner_tenant_id IS NOT DISTINCT FROM public.portal_tenant_id())) THEN
    RAISE EXCEPTION 'this secret cannot be stored in the current scope' USING ERRCODE = 'insufficient_privilege';
  END IF;
  INSERT INTO public.portal_secret (kind, owner_id, owner_tenant_id, prefix, secret_hash)
    VALUES (p_kind, p_owner_id, p_owner_tenant_id, p_prefix, p_secret_hash);
END $$;

CREATE OR REPLACE FUNCTION portal_secret_verify(p_kind text, p_prefix text, p_secret_hash text)
  RETURNS TABLE (owner_id bigint, owner_tenant_id bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT s.owner_id, s.owner_tenant_id FROM public.portal_secret s
    WHERE s.kind = p_kind AND s.prefix = p_prefix AND s.secret_hash = p_secret_hash
$$;

CREATE OR REPLACE FUNCTION portal_secret_forget() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM public.portal_secret WHERE kind = TG_ARGV[0];
  ELSE
    DELETE FROM public.portal_secret WHERE kind = TG_ARGV[0] AND owner_id = OLD.id;
  END IF;
  RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_password_hidden")]

    operations = [migrations.RunSQL(VAULT_SQL, migrations.RunSQL.noop)]

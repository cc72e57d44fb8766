"""API key hashes move to the vault (`portal_secret`, kind 'api_key', tenants/0006)."""

from django.db import migrations

MOVE_SQL = """
SET LOCAL portal.scope = 'all';
INSERT INTO portal_secret (kind, owner_id, owner_tenant_id, prefix, secret_hash)
  SELECT 'api_key', id, tenant_id, prefix, secret_hash FROM api_apikey;
ALTER TABLE api_apikey DROP COLUMN secret_hash;
CREATE TRIGGER secret_forget AFTER DELETE ON api_apikey
  FOR EACH ROW EXECUTE FUNCTION portal_secret_forget('api_key');
CREATE TRIGGER secret_forget_all AFTER TRUNCATE ON api_apikey
  FOR EACH STATEMENT EXECUTE FUNCTION portal_secret_forget('api_key');
"""


class Migration(migrations.Migration):
    dependencies = [("api", "0003_platform_idempotency"), ("tenants", "0006_secrets_vault")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(MOVE_SQL, migrations.RunSQL.noop)],
            state_operations=[migrations.RemoveField(model_name="apikey", name="secret_hash")],
        ),
    ]

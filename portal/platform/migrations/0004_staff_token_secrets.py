"""Staff token hashes move to the vault (`portal_secret`, kind 'staff_token', tenants/0006)."""

from django.db import migrations

MOVE_SQL = """
INSERT INTO portal_secret (kind, owner_id, owner_tenant_id, prefix, secret_hash)
  SELECT 'staff_token', id, NULL, prefix, secret_hash FROM compliance_staffapitoken;
ALTER TABLE compliance_staffapitoken DROP COLUMN secret_hash;
CREATE TRIGGER secret_forget AFTER DELETE ON compliance_staffapitoken
  FOR EACH ROW EXECUTE FUNCTION portal_secret_forget('staff_token');
CREATE TRIGGER secret_forget_all AFTER TRUNCATE ON compliance_staffapitoken
  FOR EACH STATEMENT EXECUTE FUNCTION portal_secret_forget('staff_token');
"""


class Migration(migrations.Migration):
    dependencies = [("platform", "0003_staff_enrolment_codes"), ("tenants", "0006_secrets_vault")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(MOVE_SQL, migrations.RunSQL.noop)],
            state_operations=[migrations.RemoveField(model_name="staffapitoken", name="secret_hash")],
        ),
    ]

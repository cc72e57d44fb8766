from django.db import migrations

from tenants.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        # Platform events (tenant NULL) are readable only unscoped, so no platform_rows here.
        EnableTenantRLS("compliance_auditevent"),
        migrations.RunSQL(
            """
            INSERT INTO compliance_auditchainhead (id, seq, hash) VALUES (1, 0, repeat('0', 64));
            CREATE FUNCTION compliance_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
            END $$;
            CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON compliance_auditevent
              FOR EACH ROW EXECUTE FUNCTION compliance_audit_append_only();
            """,
            reverse_sql="""
            DROP TRIGGER audit_append_only ON compliance_auditevent;
            DROP FUNCTION compliance_audit_append_only();
            DELETE FROM compliance_auditchainhead;
            """,
        ),
    ]

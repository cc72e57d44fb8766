"""Staff token rows are written only under the platform's signed claim (the trigger function is
compliance/0009's). A planted row would not authenticate anyway (its hash is in the vault), but
nor may SQL run as the application revoke, rename or re-scope an operator's token."""

from django.db import migrations

SQL = """
CREATE OR REPLACE TRIGGER platform_guard BEFORE INSERT OR UPDATE OR DELETE ON compliance_staffapitoken
  FOR EACH ROW EXECUTE FUNCTION portal_platform_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("platform", "0006_enrolment_codes_keyed"), ("compliance", "0009_platform_tables_guard")]

    operations = [migrations.RunSQL(SQL, migrations.RunSQL.noop)]

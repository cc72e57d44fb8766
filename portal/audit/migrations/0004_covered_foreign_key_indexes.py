# The tenant key's own index goes: compliance__tenant__d759b0_idx (tenant, -seq) starts with it
# (tests/core/test_redundant_indexes.py). The key's constraint stays as it is. Written out rather
# than through portal.runtime.schema.foreign_key_index_drop, which the other apps' migrations use,
# because the audit app imports no other part of the portal (tests/test_layering.py).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_signing_keys'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(
                model_name='auditevent', name='tenant',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                        related_name='+', to='tenants.tenant'),
            )],
            database_operations=[migrations.RunSQL(
                'DROP INDEX IF EXISTS "compliance_auditevent_tenant_id_03128975"',
                reverse_sql='CREATE INDEX IF NOT EXISTS "compliance_auditevent_tenant_id_03128975"'
                            ' ON "compliance_auditevent" ("tenant_id")',
            )],
        ),
    ]

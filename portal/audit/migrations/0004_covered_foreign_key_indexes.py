# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.core.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_signing_keys'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='auditevent', name='tenant', table='compliance_auditevent', index='compliance_auditevent_tenant_id_03128975',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
    ]

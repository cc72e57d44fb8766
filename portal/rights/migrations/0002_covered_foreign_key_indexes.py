# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('rights', '0001_initial'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='forwardedrequest', name='tenant', table='rights_forwardedrequest', index='rights_forwardedrequest_tenant_id_a2391e2b',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.tenant'),
        ),
    ]

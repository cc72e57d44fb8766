# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0006_review_scope'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='apikey', name='tenant', table='api_apikey', index='api_apikey_tenant_id_d74faa9f',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='tenants.tenant'),
        ),
    ]

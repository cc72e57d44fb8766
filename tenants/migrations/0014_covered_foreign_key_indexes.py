# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0013_accounts'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='membership', name='tenant', table='tenants_membership', index='tenants_membership_tenant_id_55f75d05',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='tenants.tenant'),
        ),
    ]

# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0012_offboarding_drops_partition'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='orderfiledeletion', name='order', table='compliance_orderfiledeletion', index='compliance_orderfiledeletion_order_id_b6cd3abe',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='file_deletions', to='compliance.regulatoryorder'),
        ),
        foreign_key_index_drop(
            model_name='ordertenantprogress', name='order', table='compliance_ordertenantprogress', index='compliance_ordertenantprogress_order_id_43fe7118',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tenant_progress', to='compliance.regulatoryorder'),
        ),
    ]

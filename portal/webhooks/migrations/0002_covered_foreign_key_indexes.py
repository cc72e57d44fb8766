# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0014_covered_foreign_key_indexes'),
        ('webhooks', '0001_endpoints_and_deliveries'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='webhookdelivery', name='endpoint', table='webhooks_webhookdelivery', index='webhooks_webhookdelivery_endpoint_id_d5bfb5c8',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookendpoint'),
        ),
        foreign_key_index_drop(
            model_name='webhookdelivery', name='tenant', table='webhooks_webhookdelivery', index='webhooks_webhookdelivery_tenant_id_9545aa29',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant'),
        ),
        foreign_key_index_drop(
            model_name='webhookendpoint', name='tenant', table='webhooks_webhookendpoint', index='webhooks_webhookendpoint_tenant_id_1ca8ba14',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='tenants.tenant'),
        ),
    ]

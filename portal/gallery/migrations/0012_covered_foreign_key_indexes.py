# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0011_denser_face_index'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='face', name='tenant', table='gallery_face', index='gallery_face_tenant_id_682554b6',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant'),
        ),
        foreign_key_index_drop(
            model_name='image', name='tenant', table='gallery_image', index='gallery_image_tenant_id_f17fa4d9',
            field=models.ForeignKey(blank=True, db_index=False, help_text="Empty for the operator's platform index.", null=True, on_delete=django.db.models.deletion.CASCADE, related_name='images', to='tenants.tenant'),
        ),
        foreign_key_index_drop(
            model_name='imageevidence', name='image', table='gallery_imageevidence', index='gallery_imageevidence_image_id_3f8f90e5',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='evidence', to='gallery.image'),
        ),
        foreign_key_index_drop(
            model_name='subject', name='tenant', table='gallery_subject', index='gallery_subject_tenant_id_e6e36cdd',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='subjects', to='tenants.tenant'),
        ),
    ]

# Each foreign key's own index goes where another index starts with the key
# (tests/core/test_redundant_indexes.py); the key's constraint stays as it is.

import django.db.models.deletion
from django.db import migrations, models

from portal.runtime.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0009_match_face_reference'),
        ('tenants', '0014_covered_foreign_key_indexes'),
    ]

    operations = [
        foreign_key_index_drop(
            model_name='facedisclosure', name='tenant', table='search_facedisclosure', index='search_facedisclosure_tenant_id_9e0f6ec2',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.tenant'),
        ),
        foreign_key_index_drop(
            model_name='matchreview', name='search', table='search_matchreview', index='search_matchreview_search_id_f7c6ab37',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='search.search'),
        ),
        foreign_key_index_drop(
            model_name='recallnotice', name='tenant', table='search_recallnotice', index='search_recallnotice_tenant_id_7a77980f',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.tenant'),
        ),
        foreign_key_index_drop(
            model_name='searchaccess', name='search', table='search_searchaccess', index='search_searchaccess_search_id_d57bfe10',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='search.search'),
        ),
        foreign_key_index_drop(
            model_name='searchmatch', name='search', table='search_searchmatch', index='search_searchmatch_search_id_1ae8e328',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='matches', to='search.search'),
        ),
    ]

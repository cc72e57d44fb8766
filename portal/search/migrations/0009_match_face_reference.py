"""A match's face is no longer a database foreign key: the face table is partitioned by gallery
(gallery/0009), and a key referencing it would need a unique key on the face id alone, which a
partitioned table cannot have (its keys must include the partition key, tenant_id, NULL for the
platform index). Deleting a face still deletes its matches: Django's cascade for the ORM, the
enforcement's own DELETE for raw batches, and offboarding deletes them before it drops the
tenant's partition (portal/compliance/enforcement.py)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0008_face_detector"),
        ("search", "0008_recall_cause_request"),
    ]

    operations = [
        migrations.AlterField(
            model_name="searchmatch",
            name="face",
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="matches", to="gallery.face"),
        ),
    ]

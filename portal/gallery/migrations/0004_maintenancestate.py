"""The face index's maintenance counter moves here from the compliance app; the table stays."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("gallery", "0003_hnsw_ef_construction_128"), ("compliance", "0006_schedules_idempotency")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="MaintenanceState",
                fields=[
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("faces_deleted_since", models.BigIntegerField(default=0)),
                    ("last_run_at", models.DateTimeField(blank=True, null=True)),
                ],
                options={"db_table": "compliance_maintenancestate"},
            ),
        ]),
    ]

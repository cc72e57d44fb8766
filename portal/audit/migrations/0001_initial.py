"""The audit chain's models move here from the compliance app. Their tables (and the RLS policy
and append-only trigger made by compliance 0002) stay as they are: state only, no data moves."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("compliance", "0006_schedules_idempotency"),
        ("tenants", "0002_row_level_security"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="AuditChainHead",
                fields=[
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("seq", models.BigIntegerField(default=0)),
                    ("hash", models.CharField(max_length=64)),
                ],
                options={"db_table": "compliance_auditchainhead"},
            ),
            migrations.CreateModel(
                name="AuditEvent",
                fields=[
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("seq", models.BigIntegerField(unique=True)),
                    ("actor_api_key_id", models.BigIntegerField(blank=True, null=True)),
                    ("actor_label", models.CharField(max_length=200)),
                    ("action", models.CharField(db_index=True, max_length=64)),
                    ("target_type", models.CharField(blank=True, max_length=64)),
                    ("target_id", models.CharField(blank=True, max_length=64)),
                    ("details", models.JSONField(default=dict)),
                    ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                    ("created_at", models.DateTimeField(db_index=True)),
                    ("prev_hash", models.CharField(max_length=64)),
                    ("hash", models.CharField(max_length=64)),
                    ("actor_user", models.ForeignKey(blank=True, db_constraint=False, null=True,
                                                     on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                                     to=settings.AUTH_USER_MODEL)),
                    ("tenant", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                 related_name="+", to="tenants.tenant")),
                ],
                options={
                    "db_table": "compliance_auditevent",
                    "ordering": ["-seq"],
                    "indexes": [models.Index(fields=["tenant", "-seq"], name="compliance__tenant__d759b0_idx")],
                },
            ),
        ]),
    ]

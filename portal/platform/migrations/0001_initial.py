"""Staff API tokens move here from the compliance app; the table stays (state only)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("compliance", "0006_schedules_idempotency"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name="StaffApiToken",
                fields=[
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                    ("name", models.CharField(max_length=100)),
                    ("prefix", models.CharField(max_length=16, unique=True)),
                    ("secret_hash", models.CharField(max_length=64)),
                    ("created_at", models.DateTimeField(auto_now_add=True)),
                    ("last_used_at", models.DateTimeField(blank=True, null=True)),
                    ("revoked_at", models.DateTimeField(blank=True, null=True)),
                    ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="platform_tokens", to=settings.AUTH_USER_MODEL)),
                ],
                options={"db_table": "compliance_staffapitoken"},
            ),
        ]),
    ]

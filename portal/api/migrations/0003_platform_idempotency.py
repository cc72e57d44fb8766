"""Stored idempotent responses for the platform API too: an operator's record has no tenant and
names the staff user, whose keys form their own namespace."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0002_row_level_security"), migrations.swappable_dependency(settings.AUTH_USER_MODEL),
                    ("tenants", "0002_row_level_security")]

    operations = [
        migrations.RemoveConstraint(model_name="idempotencyrecord", name="idempotency_unique_key_per_tenant"),
        migrations.AlterField(
            model_name="idempotencyrecord", name="tenant",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to="tenants.tenant"),
        ),
        migrations.AddField(
            model_name="idempotencyrecord", name="staff_user",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(condition=models.Q(tenant__isnull=False), fields=("tenant", "key"),
                                               name="idempotency_unique_key_per_tenant"),
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(condition=models.Q(tenant__isnull=True), fields=("staff_user", "key"),
                                               name="idempotency_unique_key_per_operator"),
        ),
    ]

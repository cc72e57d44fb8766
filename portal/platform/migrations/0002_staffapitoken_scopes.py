import django.contrib.postgres.fields
from django.db import migrations, models

import portal.platform.models


class Migration(migrations.Migration):
    """Platform tokens get scopes; tokens made before keep every scope they had in effect."""

    dependencies = [("platform", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="staffapitoken", name="scopes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(choices=[("orders:read", "Read regulatory orders, previews, progress and certificates"),
                                                     ("orders:write", "File and activate regulatory orders")],
                                            max_length=32),
                default=portal.platform.models._all_scopes, size=None),
        ),
    ]

"""Opaque public ids for searches (tenants.public_ids)."""

from django.db import migrations

from tenants.public_ids import AddPublicId


class Migration(migrations.Migration):
    dependencies = [("search", "0002_row_level_security")]

    operations = [
        AddPublicId(model_name="search", table="search_search"),
    ]

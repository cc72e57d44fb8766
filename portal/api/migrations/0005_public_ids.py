"""Opaque public ids for API keys (tenants.public_ids)."""

from django.db import migrations

from tenants.public_ids import AddPublicId


class Migration(migrations.Migration):
    dependencies = [("api", "0004_api_key_secrets")]

    operations = [
        AddPublicId(model_name="apikey", table="api_apikey"),
    ]

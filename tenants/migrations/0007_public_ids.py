"""Opaque public ids for memberships (tenants.public_ids)."""

from django.db import migrations

from tenants.public_ids import AddPublicId


class Migration(migrations.Migration):
    dependencies = [("tenants", "0006_secrets_vault")]

    operations = [
        AddPublicId(model_name="membership", table="tenants_membership"),
    ]

"""Opaque public ids for subjects and images (tenants.public_ids)."""

from django.db import migrations

from tenants.public_ids import AddPublicId


class Migration(migrations.Migration):
    dependencies = [("gallery", "0004_maintenancestate")]

    operations = [
        AddPublicId(model_name="subject", table="gallery_subject"),
        AddPublicId(model_name="image", table="gallery_image"),
    ]

from django.db import migrations

from tenants.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("gallery", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        EnableTenantRLS("gallery_subject"),
        EnableTenantRLS("gallery_image", platform_rows=True),
        EnableTenantRLS("gallery_face", platform_rows=True),
    ]

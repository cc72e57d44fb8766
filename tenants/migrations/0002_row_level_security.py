from django.db import migrations

from tenants.rls import CreateRLSFunctions, EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        CreateRLSFunctions(),
        EnableTenantRLS("tenants_membership", own_user_rows=True),
    ]

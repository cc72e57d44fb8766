from django.db import migrations

from tenants.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial"), ("tenants", "0002_row_level_security")]

    # The key lookup runs before a tenant is known, inside dangerously_unscoped() for that one
    # query (portal/api/services.py: api_key_authenticate), so no extra policy is needed.
    operations = [
        EnableTenantRLS("api_apikey"),
        EnableTenantRLS("api_tenantapisettings"),
        EnableTenantRLS("api_idempotencyrecord"),
    ]

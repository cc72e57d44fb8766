from django.db import migrations

from tenants.rls import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial"), ("tenants", "0002_row_level_security")]

    operations = [
        EnableTenantRLS("search_search"),
        EnableTenantRLS("search_searchmatch"),
    ]

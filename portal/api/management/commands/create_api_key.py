from django.core.management.base import BaseCommand, CommandError

from portal.api.models import ApiKeyScope
from portal.api.services import ApiKeyInvalid, api_key_create
from portal.audit.services import Actor
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Creates an API key for a tenant and prints it once (it is stored only as a hash)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'records system'.")
        parser.add_argument("--scopes", nargs="+", required=True, choices=ApiKeyScope.values, metavar="SCOPE",
                            help=f"One or more of: {', '.join(ApiKeyScope.values)}.")

    def handle(self, *args, tenant, name, scopes, **options):
        try:
            tenant = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant with the slug {tenant!r}.") from None
        try:
            api_key, raw_key = api_key_create(tenant=tenant, name=name, scopes=scopes,
                                              actor=Actor.system("manage.py create_api_key"))
        except ApiKeyInvalid as err:
            raise CommandError(err.message) from None
        self.stderr.write(f"API key {api_key.prefix} ({api_key.name}) for {tenant.slug}, scopes: "
                          f"{' '.join(api_key.scopes)}. It is shown once; store it now:")
        self.stdout.write(raw_key)

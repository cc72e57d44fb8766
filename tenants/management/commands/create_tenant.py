from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import tenant_create


class Command(BaseCommand):
    help = "Creates a tenant (a customer organisation)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=Tenant.Kind.values)
        parser.add_argument("--country", required=True, help="Home country, ISO 3166-1 alpha-2 (e.g. FR).")
        parser.add_argument("--platform-index", action="store_true", help="Entitled to search the platform index.")
        parser.add_argument("--no-case-reference", action="store_true", help="Searches need no case reference.")

    def handle(self, *args, slug, name, kind, country, platform_index, no_case_reference, **options):
        if len(country) != 2 or not country.isalpha():
            raise CommandError(f"--country must be a two-letter ISO 3166-1 code, not {country!r}.")
        try:
            tenant = tenant_create(slug=slug, name=name, kind=kind, home_country=country,
                                   may_search_platform_index=platform_index,
                                   case_reference_required=not no_case_reference)
        except ValidationError as error:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())) from None
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.slug} ({tenant.name})."))

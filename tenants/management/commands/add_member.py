from django.core.management.base import BaseCommand, CommandError

from tenants.models import Membership, Tenant
from tenants.services import member_add


class Command(BaseCommand):
    help = "Adds a user to a tenant with a role; creates the user (printing a one-time password) if new."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The tenant's slug.")
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Membership.Role.values)

    def handle(self, *args, slug, email, role, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {slug!r}.")
        membership, one_time_password = member_add(tenant=tenant, email=email, role=role)
        self.stdout.write(self.style.SUCCESS(f"{membership.user.email} is {role} of {tenant.slug}."))
        if one_time_password:
            self.stdout.write(f"One-time password (shown once): {one_time_password}")

"""Verifies the audit chains end to end and names the first broken link (exit status 1)."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import audit_chain_verify
from tenants.context import dangerously_unscoped
from tenants.models import Tenant


class Command(BaseCommand):
    help = ("Recomputes every audit event's hash in order, chain by chain (the platform's and each "
            "tenant's); names the first broken link.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", metavar="SLUG", help="Check this tenant's chain alone.")

    def handle(self, *args, **options):
        tenant = None
        if options["tenant"]:
            with dangerously_unscoped(reason="audit_verify: finding the tenant to check"):
                tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        broken = []
        for result in audit_chain_verify(tenant=tenant):
            chain = "platform chain" if result.tenant_id is None else f"chain of tenant {result.tenant_id}"
            if result.intact:
                self.stdout.write(self.style.SUCCESS(
                    f"{chain}: intact, {result.events} events, head hash {result.head_hash}."))
            else:
                broken.append(f"{chain} broken at position {result.first_broken_position}: {result.problem} "
                              f"({result.events} events read; last good hash {result.head_hash}).")
        if broken:
            raise CommandError(" ".join(broken))

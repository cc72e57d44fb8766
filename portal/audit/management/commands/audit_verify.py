"""Verifies the audit chain end to end and names the first broken link (exit status 1)."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Recomputes every audit event's hash in order; names the first broken link."

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if result.intact:
            self.stdout.write(self.style.SUCCESS(
                f"Audit chain intact: {result.events} events, head hash {result.head_hash}."))
            return
        raise CommandError(f"Audit chain broken at event #{result.first_broken_seq}: {result.problem} "
                           f"({result.events} events read; last good hash {result.head_hash}).")

"""Checks a kept signed audit head against the chains as they are now; exit status 1 on a rewrite."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.heads import audit_heads_check
from portal.signatures import SignatureInvalid, keys_parse


class Command(BaseCommand):
    help = ("Verifies a signed audit head (one entry of /.well-known/portal-audit-heads.json, or a tenant's own "
            "signed chain head) and that the chain is intact and still holds that hash at that position.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The kept signed head (.json), in canonical form.")
        parser.add_argument("--keys", metavar="KEYS_JSON", help="A saved copy of the published keys file.")

    def handle(self, *args, **options):
        try:
            data = Path(options["file"]).read_bytes()
            keys = keys_parse(Path(options["keys"]).read_bytes()) if options["keys"] else None
            result = audit_heads_check(data=data, keys=keys)
        except OSError as unreadable:
            raise CommandError(f"Cannot read {unreadable.filename}: {unreadable.strerror}.") from unreadable
        except SignatureInvalid as invalid:
            raise CommandError(f"NOT GENUINE: {invalid}") from invalid
        if not result.ok:
            raise CommandError("REWRITTEN: " + " ".join(result.lines))
        for line in result.lines:
            self.stdout.write(self.style.SUCCESS(line))

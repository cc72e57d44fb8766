"""Verifies a signed certificate (or any signed document) offline; exit status 1 when it is not genuine."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.signing import signing_keys_published
from portal.signatures import SignatureInvalid, document_verify, keys_parse


class Command(BaseCommand):
    help = ("Checks a signed certificate file: canonical form, signature, and that the key was valid when it "
            "signed. With --keys, against a saved copy of /.well-known/portal-signing-keys.json (no database "
            "needed); without, against this portal's published keys.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The signed certificate (.json) as downloaded.")
        parser.add_argument("--keys", metavar="KEYS_JSON", help="A saved copy of the published keys file.")

    def handle(self, *args, **options):
        try:
            data = Path(options["file"]).read_bytes()
            if options["keys"]:
                keys = keys_parse(Path(options["keys"]).read_bytes())
            else:
                keys = keys_parse(signing_keys_published())
            verified = document_verify(data=data, keys=keys)
        except OSError as unreadable:
            raise CommandError(f"Cannot read {unreadable.filename}: {unreadable.strerror}.") from unreadable
        except SignatureInvalid as invalid:
            raise CommandError(f"NOT GENUINE: {invalid}") from invalid
        document = verified.document
        subject = document.get("order", {}).get("reference") if isinstance(document.get("order"), dict) else None
        self.stdout.write(self.style.SUCCESS(
            f"GENUINE: a {verified.type} document signed by key {verified.key_id} at "
            f"{verified.signed_at.isoformat()}, within the key's validity period"
            + (f"; order {subject}." if subject else ".")))

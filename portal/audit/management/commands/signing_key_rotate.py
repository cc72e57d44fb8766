"""Makes a new signing key and ends the current one's validity (audited on the platform chain)."""

from django.core.management.base import BaseCommand

from portal.audit.services import Actor
from portal.audit.signing import signing_key_rotate


class Command(BaseCommand):
    help = ("Creates a new Ed25519 signing key (SIGNING_KEY_FILE) valid from now and ends the current key's "
            "validity. Documents signed earlier still verify: their key was valid when they were signed.")

    def handle(self, *args, **options):
        key = signing_key_rotate(actor=Actor.system("manage.py signing_key_rotate"))
        self.stdout.write(self.style.SUCCESS(f"New signing key {key.key_id}, valid from {key.valid_from.isoformat()}."))

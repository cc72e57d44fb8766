"""Makes a platform API token for a staff user and prints it once."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import Actor
from portal.errors import DomainError
from portal.platform.models import PlatformScope
from portal.platform.services import staff_token_create
from tenants.models import User


class Command(BaseCommand):
    help = "Creates a platform API token (Authorization: Bearer <token>) for a staff user."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("name", help="What the token is for, e.g. 'compliance tooling'.")
        parser.add_argument("--scopes", nargs="+", choices=PlatformScope.values, default=None,
                            help="What the token may do (default: every scope).")

    def handle(self, *args, email, name, scopes, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        try:
            token, secret = staff_token_create(user=user, name=name, actor=Actor.system("platform_token_create"),
                                               scopes=scopes)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Token {token.prefix} for {user.email} (shown once):\n{secret}")

"""Prints a one-time code with which a staff user sets up their first two-factor device: for the
first operator (later ones get theirs from another operator in the console)."""

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import Actor
from portal.errors import DomainError
from portal.platform.two_factor import ENROLMENT_CODE_HOURS, enrolment_code_issue
from tenants.models import User


class Command(BaseCommand):
    help = "Issues a one-time two-factor enrolment code for a staff user (earlier unused codes stop working)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user {email}.")
        try:
            code = enrolment_code_issue(user=user, actor=Actor.system("platform_enrolment_code"))
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Enrolment code for {user.email} (once, valid {ENROLMENT_CODE_HOURS} hours):\n{code}")

"""`manage.py restore <backup>`: back into live use only with every later order, erasure and
opt-out applied again and verified (portal/core/restores.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import Actor
from portal.core.backups import BackupFailed
from portal.core.restores import restore_run


class Command(BaseCommand):
    help = ("Restores a backup folder written by `manage.py backup` over the portal's database and media folder, "
            "then applies again every order, erasure and opt-out the enforcement journal recorded after it and "
            "verifies nothing covered remains. The portal serves nothing until it has finished.")
    requires_system_checks = []  # the unfinished-restore check must not stop the restore itself

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="The backup folder.")
        parser.add_argument("--database", help="Restore into this database instead of the portal's (it is replaced).")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, backup, database, yes, **options):
        if not yes:
            answer = input(f"This replaces the database {database or 'of the portal'} and the media folder with "
                           f"{backup}. Type 'restore' to go on: ")
            if answer.strip() != "restore":
                raise CommandError("Nothing was changed.")
        try:
            report = restore_run(folder=backup, database=database, actor=Actor.system("command: restore"))
        except BackupFailed as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(
            f"Restored {report.backup} into {report.database}: {report.entries_applied} journal entries applied "
            f"({len(report.orders_activated)} order(s) put in force again, {report.images_deleted} picture(s) deleted "
            f"again, {report.opt_outs_restored} opt-out(s) restored); {len(report.orders_verified)} order(s) verified."))

"""`manage.py backup`: the database, the media folder and a manifest (portal/core/backups.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import Actor
from portal.core.backups import BackupFailed, backup_create


class Command(BaseCommand):
    help = ("Backs up the database (pg_dump, as the owner), the media folder and a manifest (time, checksums, "
            "audit chain heads, enforcement journal head, portal version, retention) into BACKUP_DIR.")

    def add_arguments(self, parser):
        parser.add_argument("--destination", type=Path, help="Folder to write the backup into (BACKUP_DIR).")

    def handle(self, *args, destination, **options):
        try:
            folder = backup_create(destination=destination, actor=Actor.system("command: backup"))
        except BackupFailed as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"Backup written to {folder}"))

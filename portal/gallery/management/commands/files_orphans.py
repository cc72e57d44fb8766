"""`files_orphans`: finds (and deletes) pictures in storage that no row refers to."""

from django.core.management.base import BaseCommand

from portal.gallery.maintenance import ORPHAN_GRACE, files_orphaned_delete


class Command(BaseCommand):
    help = (f"Deletes originals, thumbnails, crops and probes in storage that no row refers to (older than {ORPHAN_GRACE}). "
            "Runs daily on the beat schedule; --dry-run only lists them.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List them; delete nothing.")

    def handle(self, *args, dry_run, **options):
        found = files_orphaned_delete(dry_run=dry_run)
        verb = "found" if dry_run else "deleted"
        for folder, count in found.items():
            self.stdout.write(f"{folder}: {count} {verb}")

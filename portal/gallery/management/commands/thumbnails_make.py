"""`thumbnails_make`: makes the thumbnails of pictures stored before thumbnails were made at ingest."""

from django.core.management.base import BaseCommand

from portal.gallery.thumbnails import thumbnails_missing_make


class Command(BaseCommand):
    help = ("Makes the missing thumbnails of stored pictures (every gallery and the platform index). "
            "Safe to run again: pictures that have one are left alone.")

    def handle(self, *args, **options):
        result = thumbnails_missing_make()
        self.stdout.write(f"thumbnails made: {result['made']}; pictures that could not be read: {result['failed']}")

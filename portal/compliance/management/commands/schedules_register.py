"""Registers (or repairs) the compliance schedules in django-celery-beat. Idempotent."""

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from portal.compliance.schedules import schedules_register


class Command(BaseCommand):
    help = "Registers the compliance schedules (sweep, deadline warnings, probe purge, index maintenance)."

    def handle(self, *args, **options):
        for name in schedules_register(IntervalSchedule=IntervalSchedule, CrontabSchedule=CrontabSchedule,
                                       PeriodicTask=PeriodicTask):
            self.stdout.write(f"registered: {name}")

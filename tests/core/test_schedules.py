"""The periodic work declared in settings (CELERY_BEAT_SCHEDULE): every entry names a task the
worker knows, and django-celery-beat's database scheduler writes them into its tables."""

import pytest
from django.conf import settings
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from portal.celery import app

pytestmark = pytest.mark.django_db

EXPECTED_TASKS = {"compliance.orders_sweep", "compliance.order_deadlines_warn", "rights.requests_deadlines_remind",
                  "rights.access_answers_expire", "search.probes_purge",
                  "api.idempotency_records_expire", "gallery.face_index_maintain", "gallery.files_orphaned_delete",
                  "search.authorisations_overdue_erase",
                  "audit.chains_anchor", "audit.heads_sign", "webhooks.deliveries_due_queue"}


def test_every_scheduled_task_is_one_the_worker_knows():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == EXPECTED_TASKS
    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)


@pytest.mark.django_db(transaction=True)  # beat's scheduler closes and reopens its connection
def test_beat_writes_the_schedule_into_its_tables_and_again_changes_nothing():
    DatabaseScheduler(app=app)  # what `celery beat` builds at start
    names = set(settings.CELERY_BEAT_SCHEDULE)
    rows = dict(PeriodicTask.objects.filter(name__in=names).values_list("name", "task"))
    assert rows == {name: entry["task"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    before = PeriodicTask.objects.count()
    DatabaseScheduler(app=app)
    assert PeriodicTask.objects.count() == before


def test_rows_written_under_names_the_settings_no_longer_use_are_removed_by_the_migration():
    """Schedules used to be written by data migrations; three of their tasks moved apps and were
    renamed, and compliance 0007 removes the rows left under the old names."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.db import connection

    from django.apps import apps
    from django_celery_beat.models import IntervalSchedule

    migration = import_module("portal.compliance.migrations.0007_models_moved_out")
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="minutes")
    for name in migration.RENAMED:
        PeriodicTask.objects.create(name=name, task="compliance.gone", interval=every)
    migration.schedules_renamed_forget(apps, SimpleNamespace(connection=connection))
    assert not PeriodicTask.objects.filter(name__in=migration.RENAMED).exists()

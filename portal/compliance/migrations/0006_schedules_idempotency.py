from django.db import migrations

from portal.compliance.schedules import schedules_register


def register(apps, schema_editor):
    # Registers the schedules added since 0005 (the API's stored responses); idempotent.
    schedules_register(IntervalSchedule=apps.get_model("django_celery_beat", "IntervalSchedule"),
                       CrontabSchedule=apps.get_model("django_celery_beat", "CrontabSchedule"),
                       PeriodicTask=apps.get_model("django_celery_beat", "PeriodicTask"))


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_schedules")]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]

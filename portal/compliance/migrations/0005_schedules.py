from django.db import migrations

from portal.compliance.schedules import schedules_register


def register(apps, schema_editor):
    schedules_register(IntervalSchedule=apps.get_model("django_celery_beat", "IntervalSchedule"),
                       CrontabSchedule=apps.get_model("django_celery_beat", "CrontabSchedule"),
                       PeriodicTask=apps.get_model("django_celery_beat", "PeriodicTask"))


class Migration(migrations.Migration):
    dependencies = [("compliance", "0004_face_table_fillfactor"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(register, migrations.RunPython.noop)]

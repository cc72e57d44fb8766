from django.db import migrations


class Migration(migrations.Migration):
    """Once registered Celery beat schedules from live code; they are declared in settings now
    (CELERY_BEAT_SCHEDULE), so this migration does nothing."""

    dependencies = [("compliance", "0004_face_table_fillfactor"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = []

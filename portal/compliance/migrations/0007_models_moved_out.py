"""The audit chain went to portal/audit, staff tokens to portal/platform and the index
maintenance counter to portal/gallery: their tables stay, only Django's state moves.

Celery beat's schedules are declared in settings now (CELERY_BEAT_SCHEDULE); the three whose
tasks moved to the gallery and search apps are renamed there, so the rows the old data migrations
wrote under the old names go."""

from django.db import migrations

RENAMED = [
    "compliance: purge probes past retention",
    "compliance: vacuum and reindex the face index after large deletions",
    "compliance: delete files no row refers to",
]


def schedules_renamed_forget(apps, schema_editor):
    # On the migrating connection: the router would send beat's models to the platform's.
    tasks = apps.get_model("django_celery_beat", "PeriodicTask").objects.using(schema_editor.connection.alias)
    tasks.filter(name__in=RENAMED).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0006_schedules_idempotency"),
        ("audit", "0001_initial"),
        ("platform", "0001_initial"),
        ("gallery", "0004_maintenancestate"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="AuditEvent"),
            migrations.DeleteModel(name="AuditChainHead"),
            migrations.DeleteModel(name="StaffApiToken"),
            migrations.DeleteModel(name="MaintenanceState"),
        ]),
        migrations.RunPython(schedules_renamed_forget, migrations.RunPython.noop),
    ]

"""Opaque public ids: searches are named outside (URLs, API bodies, the audit log) by a random
UUID, never by the platform-wide sequence, which would tell a tenant how much the others do.
Existing rows get theirs from gen_random_uuid(), which stays the column default for rows
written by raw SQL (bulk loads, the benchmarks)."""

import uuid

from django.db import migrations, models

SQL = """
ALTER TABLE search_search ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE search_search ADD CONSTRAINT search_search_public_id_key UNIQUE (public_id);
"""


class Migration(migrations.Migration):
    dependencies = [("search", "0002_row_level_security")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, migrations.RunSQL.noop)],
            state_operations=[
                migrations.AddField(model_name="search", name="public_id", field=models.UUIDField(
                    default=uuid.uuid4, unique=True, editable=False,
                    help_text="How the object is named outside: URLs, API bodies, exports.")),
            ],
        ),
    ]

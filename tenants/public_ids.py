"""Opaque public ids, as a migration operation.

A tenant's objects are named outside (URLs, API bodies, the audit log) by a random UUID, never
by the platform-wide sequence, which would tell a tenant how much the others do. Existing rows
get theirs from gen_random_uuid(), which stays the column's default so that rows written by raw
SQL (bulk loads, the benchmarks) get one too; Django's own default (uuid4) fills the ORM's.
"""

import uuid

from django.db import migrations, models


class AddPublicId(migrations.SeparateDatabaseAndState):
    def __init__(self, *, model_name: str, table: str):
        sql = (f"ALTER TABLE {table} ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();"
               f" ALTER TABLE {table} ADD CONSTRAINT {table}_public_id_key UNIQUE (public_id);")
        super().__init__(
            database_operations=[migrations.RunSQL(sql, f"ALTER TABLE {table} DROP COLUMN public_id;")],
            state_operations=[migrations.AddField(model_name=model_name, name="public_id", field=models.UUIDField(
                default=uuid.uuid4, unique=True, editable=False,
                help_text="How the object is named outside: URLs, API bodies, exports."))],
        )

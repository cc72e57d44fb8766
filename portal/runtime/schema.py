"""Schema changes that Django's own operations would make too costly on large tables. The apps'
migrations import it; it imports nothing of the portal (the kernel layer, tests/test_layering.py)."""

from __future__ import annotations

from django.db import migrations


def foreign_key_index_drop(*, model_name: str, name: str, field, table: str, index: str):
    """`AlterField` to `db_index=False` on a foreign key, dropping only its index.

    Django's `AlterField` drops the key's constraint, drops the index and adds the constraint
    back, which checks every row again under a lock that stops writes: minutes on a
    ten-million-face table, for a constraint that did not change. Here the model state changes
    as with `AlterField`, and the database loses the index alone."""
    column = field.db_column or f"{name}_id"
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=name, field=field)],
        database_operations=[migrations.RunSQL(
            f'DROP INDEX IF EXISTS "{index}"',
            reverse_sql=f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" ("{column}")')],
    )

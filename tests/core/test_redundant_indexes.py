"""No index of the project's tables is redundant: none is a leading part of another btree index on
the same table, with the same columns in the same order, operator classes and collations.

Django gives every foreign key its own index; where a model also declares an index or a unique
constraint that starts with that key, the key's own index answers nothing the longer one cannot,
and every insert and update pays for it (on the face table, about 6.5 bytes a face and one more
index entry per face ingested). Such keys say `db_index=False` with a comment naming the index
that serves them. Tables of other packages (Django's auth, axes, Celery beat, OTP) are left as
they ship."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

PROJECT_PACKAGES = ("portal.", "tenants.")

# Pairs (a, b) of non-partial btree indexes on one table where a's keys are b's leading keys.
# Ties (same keys) count once; a unique index is never the redundant one, since it enforces.
REDUNDANT_SQL = """
SELECT c.relname, a.indexrelid::regclass::text, b.indexrelid::regclass::text
FROM pg_index a
JOIN pg_index b ON b.indrelid = a.indrelid AND b.indexrelid <> a.indexrelid
JOIN pg_class c ON c.oid = a.indrelid
JOIN pg_class a_index ON a_index.oid = a.indexrelid
JOIN pg_class b_index ON b_index.oid = b.indexrelid AND b_index.relam = a_index.relam
JOIN pg_am am ON am.oid = a_index.relam AND am.amname = 'btree'
WHERE c.relname = ANY(%s)
  AND NOT a.indisunique
  AND a.indpred IS NULL AND b.indpred IS NULL AND a.indexprs IS NULL AND b.indexprs IS NULL
  AND a.indnkeyatts <= b.indnkeyatts
  AND (a.indkey::int2[])[0:a.indnkeyatts - 1] = (b.indkey::int2[])[0:a.indnkeyatts - 1]
  AND (a.indclass::oid[])[0:a.indnkeyatts - 1] = (b.indclass::oid[])[0:a.indnkeyatts - 1]
  AND (a.indcollation::oid[])[0:a.indnkeyatts - 1] = (b.indcollation::oid[])[0:a.indnkeyatts - 1]
  AND (a.indnkeyatts < b.indnkeyatts OR b.indisunique OR a.indexrelid > b.indexrelid)
ORDER BY 1, 2
"""


def _project_tables() -> list[str]:
    return sorted({model._meta.db_table for model in apps.get_models()
                   if model.__module__.startswith(PROJECT_PACKAGES)})


def _redundant(tables: list[str]) -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT_SQL, [tables])
        return cursor.fetchall()


def test_no_project_index_is_a_leading_part_of_another():
    redundant = _redundant(_project_tables())
    assert redundant == [], "\n".join(f"{table}: {index} is covered by {by}" for table, index, by in redundant)


def test_the_check_finds_a_redundant_index():
    """The query above is not vacuous: the foreign-key index of Django's own permission table is
    covered by its unique (content_type, codename) constraint, and the check says so."""
    assert ("auth_permission", "auth_permission_content_type_id_2f476e4b",
            "auth_permission_content_type_id_codename_01ab375a_uniq") in _redundant(["auth_permission"])


def test_the_project_tables_are_found():
    tables = _project_tables()
    assert {"gallery_face", "gallery_image", "search_searchmatch", "compliance_auditevent",
            "tenants_membership", "webhooks_webhookdelivery"} <= set(tables)
    assert "auth_permission" not in tables

"""The face table partitioned by gallery: the platform index and each tenant in their own
partition, with an HNSW index each (portal/gallery/partitions.py).

The rows are copied into the new partitioned table, which takes over the old one's name, columns,
defaults, checks, foreign keys, indexes and row-level security policies. Its primary key and the
uuid key move onto each partition. Irreversible: going back would mean copying every face again."""

from django.db import migrations

from portal.gallery.partitions import PARTITION_FUNCTIONS_SQL, TENANT_TRIGGER_SQL

# The index as it was at this migration (full precision); gallery/0010 replaces it by the half-precision
# one that portal/gallery/face_index.py defines.
FACE_EMBEDDING_INDEX_SQL = ("CREATE INDEX IF NOT EXISTS face_embedding_hnsw ON gallery_face"
                            " USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128)")

OLD = "gallery_face_unpartitioned"


def face_table_partition(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT conrelid::regclass::text FROM pg_constraint"
                       " WHERE contype = 'f' AND confrelid = 'gallery_face'::regclass")
        referencing = [row[0] for row in cursor.fetchall()]
        if referencing:
            raise RuntimeError(f"Foreign keys still reference gallery_face from {referencing}: drop them first.")
        cursor.execute(f"ALTER TABLE gallery_face RENAME TO {OLD}")
        cursor.execute(f"ALTER SEQUENCE gallery_face_id_seq RENAME TO {OLD}_id_seq")
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s"
                       " AND indexname NOT IN ('gallery_face_pkey', 'gallery_face_uuid_key', 'face_embedding_hnsw')",
                       [OLD])
        index_definitions = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                       " WHERE contype = 'f' AND conrelid = %s::regclass", [OLD])
        foreign_keys = cursor.fetchall()
        cursor.execute("SELECT policyname, permissive, cmd, roles, qual, with_check FROM pg_policies"
                       " WHERE schemaname = 'public' AND tablename = %s", [OLD])
        policies = cursor.fetchall()

        cursor.execute(f"CREATE TABLE gallery_face (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                       f" INCLUDING IDENTITY INCLUDING STORAGE) PARTITION BY LIST (tenant_id)")
        cursor.execute("ALTER TABLE gallery_face ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY")
        for name, permissive, command, roles, using, check in policies:
            cursor.execute(f"CREATE POLICY {name} ON gallery_face AS {permissive} FOR {command} TO {', '.join(roles)}"
                           + (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else ""))
        cursor.execute(PARTITION_FUNCTIONS_SQL)
        cursor.execute("SELECT portal_face_partition_create(NULL)")
        cursor.execute("SELECT portal_face_partition_create(id) FROM tenants_tenant")
        cursor.execute(TENANT_TRIGGER_SQL)

        cursor.execute(f"INSERT INTO gallery_face SELECT * FROM {OLD}")
        cursor.execute("SELECT setval('gallery_face_id_seq', greatest((SELECT max(id) FROM gallery_face), 1))")
        cursor.execute(f"DROP TABLE {OLD}")
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE gallery_face ADD CONSTRAINT {name} {definition}")
        for definition in index_definitions:
            cursor.execute(definition.replace(f" ON public.{OLD} ", " ON public.gallery_face "))
        cursor.execute(FACE_EMBEDDING_INDEX_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0008_face_detector"),
        ("search", "0009_match_face_reference"),
        ("compliance", "0004_face_table_fillfactor"),
        ("tenants", "0013_accounts"),
    ]

    operations = [migrations.RunPython(face_table_partition)]

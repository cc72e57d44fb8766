"""The HNSW index holds the embeddings at half precision (portal/gallery/face_index.py): an
expression index `(embedding::halfvec(128)) halfvec_cosine_ops`, same m and ef_construction; the
search re-ranks its candidates at full precision from the heap. The index leaves the model's
Meta (Django's state) because it is now managed by SQL from the one place that defines it. Its
m 16 / ef_construction 128 are written here: gallery.0011 rebuilt it denser."""

from django.db import migrations

from portal.gallery.face_index import face_index_create_sql, face_index_drop_sql

_FULL_PRECISION_SQL = ("CREATE INDEX face_embedding_hnsw ON gallery_face USING hnsw (embedding vector_cosine_ops) "
                       "WITH (m = 16, ef_construction = 128)")


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0009_face_partitioned'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name='face', name='face_embedding_hnsw')],
            database_operations=[
                migrations.RunSQL(
                    sql=["DROP INDEX IF EXISTS face_embedding_hnsw", face_index_create_sql(m=16, ef_construction=128)],
                    reverse_sql=[face_index_drop_sql(), _FULL_PRECISION_SQL],
                ),
            ],
        ),
    ]

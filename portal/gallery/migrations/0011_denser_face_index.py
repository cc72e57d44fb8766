"""The HNSW graph rebuilt with m 32 and ef_construction 256 (m 16 / 128 before): the denser graph
finds people's own pictures that the sparser one missed when a gallery holds many people with a
few pictures each (portal/gallery/face_index.py, README "A denser graph"). Each partition's graph is
built concurrently while the old one serves searches, so the migration does not run in a
transaction, and it takes as long as the builds (about 15 minutes a million faces on the 2-core
machine)."""

from django.db import migrations

from portal.gallery.face_index import face_index_rebuild

_BEFORE = {"m": 16, "ef_construction": 128}
_AFTER = {"m": 32, "ef_construction": 256}


def _denser(apps, schema_editor):
    face_index_rebuild(schema_editor.connection, **_AFTER)


def _sparser(apps, schema_editor):
    face_index_rebuild(schema_editor.connection, **_BEFORE)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ('gallery', '0010_half_precision_index'),
    ]

    operations = [
        migrations.RunPython(_denser, _sparser, elidable=False),
    ]

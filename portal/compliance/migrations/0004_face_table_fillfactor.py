from django.db import migrations


class Migration(migrations.Migration):
    """Leaves room on every page of the face and image tables, so that activation's
    `SET withheld = true` is a HOT update: the new row version stays on its page and no index
    (least of all the HNSW graph, where an insert costs a graph search) gets a new entry.
    Measured by `manage.py bench_enforcement`: without it, withholding 10,000 of 100,000 faces
    took 14 s; with it, see docs/compliance.md. Applies to pages written from now on (a
    `VACUUM FULL` rewrites existing ones)."""

    dependencies = [("compliance", "0003_orders_optouts"), ("gallery", "0002_row_level_security")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE gallery_face SET (fillfactor = 70); ALTER TABLE gallery_image SET (fillfactor = 80);",
            reverse_sql="ALTER TABLE gallery_face RESET (fillfactor); ALTER TABLE gallery_image RESET (fillfactor);",
        ),
    ]

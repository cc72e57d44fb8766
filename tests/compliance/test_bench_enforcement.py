"""bench_enforcement on a small gallery: its proof that nothing covered is visible from the commit
of the activation is a check that can fail (it did, when the activation held its commit back
until the flags were set), so it runs here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.slow
@pytest.mark.django_db
def test_bench_enforcement_sees_nothing_covered_from_the_activation_commit_and_deletes_it_all():
    database = f"{settings.DATABASES['default']['TEST']['NAME']}_bench_enforcement"
    finished = subprocess.run(
        [sys.executable, "manage.py", "bench_enforcement", "--faces", "4000", "--covered-every", "10",
         "--batch-size", "150", "--database", database, "--json"],
        cwd=Path(settings.BASE_DIR), capture_output=True, text=True, timeout=300, env=os.environ.copy(), check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    figures = json.loads(finished.stdout)
    assert figures["covered_faces"] == 400 and figures["visibility_check_searches"] == 60
    # The probes are French faces, so before the order the searches do return French faces...
    assert figures["fr_faces_visible_before_order"] > 0
    # ... and from the commit of the activation, before a single withheld flag is set, none.
    assert figures["faces_flagged_withheld_at_that_moment"] == 0
    assert figures["covered_faces_visible_after_activation"] == 0
    assert figures["covered_faces_visible_after_flags"] == 0
    assert figures["deleted_faces"] == figures["deleted_images"] == 400 and figures["faces_left"] == 3600
    assert figures["verification_passed"] and figures["status"] == "verified"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        assert cursor.fetchone() is None

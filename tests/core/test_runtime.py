"""The embedded database and the production settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from portal.runtime import database

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_embedded_database_has_pgvector_0_8_or_newer():
    assert database.pgvector_version(connection=connection) >= (0, 8, 0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector")
        assert cursor.fetchone()[0] == pytest.approx(1.0)


@pytest.mark.django_db
@pytest.mark.parametrize("found, message", [(None, "has no pgvector extension"), ((0, 7, 4), "pgvector is 0.7.4")])
def test_missing_or_old_pgvector_stops_start_up_with_a_fix(monkeypatch, found, message):
    monkeypatch.setattr(database, "pgvector_version", lambda connection: found)
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        database.pgvector_require(connection=connection)
    assert "embedded PostgreSQL" in str(error.value)


def _manage(*args, **env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_production_settings_pass_the_deployment_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 20 + "production-secret-with-enough-entropy-0123456789",
                     DJANGO_ALLOWED_HOSTS="portal.example.com")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret():
    result = _manage("check", DJANGO_DEBUG="false", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_database_checks_pass_for_the_application_role():
    result = _manage("check", "--database", "default")
    assert result.returncode == 0, result.stderr


def test_a_claim_key_that_differs_from_the_databases_copy_is_a_clear_error(settings, db):
    from portal.core.checks import rls_claim_key_matches

    assert rls_claim_key_matches(None, databases=["default"]) == []
    settings.RLS_CLAIM_KEY = "not the key migrate installed"
    [error] = rls_claim_key_matches(None, databases=["default"])
    assert error.id == "portal.E003" and "migrate" in error.hint


def test_embedded_services_status_and_help_start_nothing(tmp_path):
    """After `make stop`, asking for the status (or the help) used to start both servers again
    (#14, item 10): the settings started them on import."""
    ports = {"EMBEDDED_PG_PORT": "54997", "EMBEDDED_REDIS_PORT": "56997"}
    env = {"PORTAL_VAR_DIR": str(tmp_path), **ports}
    env.pop("DATABASE_URL", None)
    for args in (["embedded_services", "status"], ["embedded_services", "--help"], ["embedded_services", "stop"]):
        result = _manage(*args, **env, DATABASE_URL="", REDIS_URL="")
        assert result.returncode == 0, result.stderr
    status = _manage("embedded_services", "status", **env, DATABASE_URL="", REDIS_URL="").stdout
    assert "127.0.0.1:54997 (embedded, stopped)" in status and ":56997/0 (embedded, stopped)" in status
    assert not {"pgdata", "redis", "pg.lock", "redis.lock"} & {p.name for p in tmp_path.iterdir()}  # no server

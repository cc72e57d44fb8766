"""A real SMTP server for tests (aiosmtpd), on a free local port, that keeps what it receives.

Django's SMTP backend talks to it over a socket as it would to a production relay, so a test sees
the message as sent: envelope, headers and body. Use the `smtp_server` fixture of tests/conftest.py,
which points Django's EMAIL_* settings at it."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def link(self, pattern: str = r"https?://\S+") -> str:
        """The first link in the body that matches."""
        found = re.search(pattern, self.body)
        if found is None:
            raise AssertionError(f"No link like {pattern!r} in the e-mail:\n{self.body}")
        return found.group(0)


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start with `with SmtpServer() as server:`; read `server.messages` or `server.wait_for(n)`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._handler = _Handler()
        # A port the system reports free (aiosmtpd's controller connects to its own port to check
        # that it started, so it cannot be given port 0).
        with socket.socket() as probe:
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self._handler, hostname=host, port=self.port)

    def __enter__(self) -> "SmtpServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Received]:
        with self._handler.arrived:
            return list(self._handler.received)

    def messages_to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address.lower() in (a.lower() for a in m.envelope_to)]

    def wait_for(self, count: int = 1, *, timeout: float = 10.0) -> list[Received]:
        """Waits until at least `count` messages have arrived in all; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._handler.arrived:
            while len(self._handler.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._handler.received)} e-mail(s) arrived, {count} expected")
                self._handler.arrived.wait(left)
            return list(self._handler.received)

    def clear(self) -> None:
        with self._handler.arrived:
            self._handler.received.clear()

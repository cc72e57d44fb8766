"""A real HTTPS receiver and a real Celery worker for webhook tests; the test process's Celery app
sends to the worker's broker."""

import pytest

from tests.webhooks.receiver import Receiver, self_signed_write
from tests.worker import Worker, broker_url_of_this_test_database


@pytest.fixture
def receiver(tmp_path, settings):
    cert, key = self_signed_write(tmp_path)
    settings.WEBHOOKS_CA_BUNDLE = str(cert)
    running = Receiver(cert_path=cert, key_path=key).start()
    yield running
    running.stop()


def _app_broker_set(app, url: str) -> None:
    app.conf.broker_url = url
    app._pool = None  # the pools are made on first use, for the broker of that time
    app.amqp._producer_pool = None


@pytest.fixture
def webhook_worker(receiver, tmp_path):
    """A worker retrying after 0.2 s, 0.4 s… and giving up after 3 attempts."""
    from portal.celery import app

    broker = broker_url_of_this_test_database()
    before = app.conf.broker_url
    _app_broker_set(app, broker)
    worker = Worker(log=tmp_path / "worker.log", broker=broker, env={
        "WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOKS_CA_BUNDLE": str(receiver.cert_path),
        "WEBHOOKS_RETRY_BASE_SECONDS": "0.2", "WEBHOOKS_MAX_ATTEMPTS": "3", "WEBHOOKS_TIMEOUT_SECONDS": "3"})
    yield worker
    worker.stop()
    _app_broker_set(app, before)

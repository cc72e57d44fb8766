"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.api import services


@shared_task(name="api.idempotency_records_expire")
def idempotency_records_expire() -> int:
    return services.idempotency_records_expire()

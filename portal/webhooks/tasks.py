"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.webhooks import delivery


@shared_task(name="webhooks.delivery_attempt")
def webhook_delivery_attempt(delivery_id: int) -> str:
    return delivery.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.deliveries_due_queue")
def deliveries_due_queue() -> int:
    return delivery.deliveries_due_queue()

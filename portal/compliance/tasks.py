"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task
from django.conf import settings

from portal.compliance import enforcement, orders
from portal.compliance.models import RegulatoryOrder


@shared_task(name="compliance.order_enforce", acks_late=True)
def order_enforce(order_id: int) -> dict:
    # acks_late + reject-on-worker-lost: a killed worker's task is redelivered and resumes; the
    # sweep (every 15 minutes) also queues it again for every order still active or executing.
    order = enforcement.order_enforce(order=RegulatoryOrder.objects.get(pk=order_id),
                                      batch_size=settings.ENFORCEMENT_BATCH_SIZE)
    return {"order": order.pk, "status": order.status, "deleted": order.deleted}


@shared_task(name="compliance.orders_sweep")
def orders_sweep() -> list[int]:
    pending = orders.orders_sweep()
    for order_id in pending:
        order_enforce.delay(order_id)
    return pending


@shared_task(name="compliance.order_deadlines_warn")
def order_deadlines_warn() -> list[int]:
    return [order.pk for order in orders.order_deadlines_warn()]

"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task
from django.conf import settings

from portal.compliance import services
from portal.compliance.models import RegulatoryOrder


@shared_task(name="compliance.order_enforce", acks_late=True)
def order_enforce(order_id: int) -> dict:
    # acks_late + reject-on-worker-lost: a killed worker's task is redelivered and resumes; the
    # sweep (every 15 minutes) also queues it again for every order still active or executing.
    order = services.order_enforce(order=RegulatoryOrder.objects.get(pk=order_id),
                                   batch_size=settings.ENFORCEMENT_BATCH_SIZE)
    return {"order": order.pk, "status": order.status, "deleted": order.deleted}


@shared_task(name="compliance.orders_sweep")
def orders_sweep() -> list[int]:
    pending = services.orders_sweep()
    for order_id in pending:
        order_enforce.delay(order_id)
    return pending


@shared_task(name="compliance.order_deadlines_warn")
def order_deadlines_warn() -> list[int]:
    return [order.pk for order in services.order_deadlines_warn()]


@shared_task(name="compliance.probes_purge")
def probes_purge() -> int:
    return services.probes_purge()


@shared_task(name="compliance.face_index_maintain")
def face_index_maintain() -> dict:
    return services.face_index_maintain()


@shared_task(name="compliance.files_orphaned_delete")
def files_orphaned_delete() -> dict:
    return services.files_orphaned_delete()

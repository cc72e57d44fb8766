"""Enforcement in a real Celery worker process, on the real broker: the worker is killed with
SIGKILL in the middle of an order, a new worker is started, the sweep queues the order again
(as beat does every 15 minutes), and the order ends verified with the same totals and nothing
left. The workers run `celery -A portal worker` against this test's database and media folder,
on a Redis database of their own, so no other worker can take the tasks."""

import signal
import time

import pytest
from celery import Celery

from portal.audit.services import Actor, audit_chain_verify
from portal.audit.models import AuditEvent
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.models import Image
from tenants.context import dangerously_unscoped
from tests.builders import files_present, order_fields, picture_add, remaining_face_ids
from tests.worker import Worker, broker_url_of_this_test_database

pytestmark = pytest.mark.django_db(transaction=True)

Status = RegulatoryOrder.Status


def _order_now(order_id: int) -> RegulatoryOrder:
    return RegulatoryOrder.objects.get(pk=order_id)


def _wait_for(condition, *, worker: Worker, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert worker.process.poll() is None, f"the worker exited while waiting for {what}:\n{worker.output()}"
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}:\n{worker.output()}")


def test_worker_killed_mid_order_and_a_new_worker_finishes_it_exactly(world_gallery, two_tenants, tmp_path):
    gallery = world_gallery
    for n in range(60):  # enough one-image batches that the kill lands in the middle
        picture_add(gallery, tenant=two_tenants.a.tenant if n % 2 else None, region="FR")
    fr = gallery.ids(region="FR")
    others = set(gallery.faces) - fr
    fr_files = {name for name, image_id in gallery.files.items() if (gallery.images[image_id][1] or "").startswith("FR")}

    order = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])),
                           actor=Actor.system("test"))
    covered_images = order.covered["images"]
    assert covered_images == len(fr) >= 70

    broker = broker_url_of_this_test_database()
    sender = Celery(broker=broker)
    log = tmp_path / "worker.log"
    first = Worker(log=log, broker=broker, batch_size=1)
    try:
        sender.send_task("compliance.order_enforce", args=[order.pk])
        _wait_for(lambda: _order_now(order.pk).deleted.get("images", 0) >= 10, worker=first, timeout=120,
                  what="the first batches")
        first.stop(signal.SIGKILL)
    finally:
        first.stop(signal.SIGKILL)

    halfway = _order_now(order.pk)
    assert halfway.status == Status.EXECUTING, first.output()
    assert 10 <= halfway.deleted["images"] < covered_images
    with dangerously_unscoped(reason="test"):
        left = Image.objects.filter(region__startswith="FR").count()
    assert left == covered_images - halfway.deleted["images"]  # counters match what is gone, exactly

    second = Worker(log=log, broker=broker, batch_size=1)
    try:
        sender.send_task("compliance.orders_sweep")
        done = _wait_for(lambda: (o := _order_now(order.pk)).status == Status.VERIFIED and o, worker=second,
                         timeout=120, what="the order to be verified")
    finally:
        second.stop()

    assert done.deleted["images"] == done.deleted["faces"] == covered_images
    assert done.deleted["crops"] == done.deleted["originals"] == covered_images
    assert done.verification["passed"] and done.certificate["totals"]["deleted"]["images"] == covered_images
    assert remaining_face_ids() == others
    assert not (files_present(gallery) & fr_files)
    assert files_present(gallery) == set(gallery.files) - fr_files
    with dangerously_unscoped(reason="test"):
        actions = list(AuditEvent.objects.filter(target_type="order", target_id=str(order.pk))
                       .order_by("seq").values_list("action", flat=True))
    assert actions.count("order.enforce") == 1 and "order.enforce_resume" in actions
    assert actions[-1] == "order.verify"
    assert all(result.intact for result in audit_chain_verify())

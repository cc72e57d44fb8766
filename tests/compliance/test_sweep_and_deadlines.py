"""The scheduled compliance work: the sweep of new data against orders in force, deadline warnings."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.compliance import enforcement, orders
from portal.compliance.models import RegulatoryOrder
from tenants.context import dangerously_unscoped
from tests.builders import order_fields, picture_add

pytestmark = pytest.mark.django_db


def test_sweep_withholds_data_that_slipped_in_after_activation(world_gallery):
    order = orders.order_activate(order=orders.order_create(**order_fields(
        kind=RegulatoryOrder.Kind.REGIONAL, regions=["IT"])), actor=Actor.system("test"))
    enforcement.order_enforce(order=order)
    # A picture that bypassed the gate (e.g. written before the gate existed).
    image = picture_add(world_gallery, tenant=None, region="IT")
    assert orders.orders_sweep() == [order.pk]
    with dangerously_unscoped(reason="test"):
        assert image.faces.get().withheld
    order = enforcement.order_enforce(order=order)
    assert order.status == RegulatoryOrder.Status.VERIFIED and order.deleted["images"] == 1
    assert orders.orders_sweep() == []


def test_deadline_warnings_once_a_day(settings, user_factory):
    user_factory(is_staff=True, email="operator@example.test")
    fields = order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])
    fields["deadline"] = timezone.localdate() + timedelta(days=3)
    order = orders.order_create(**fields)
    assert [o.pk for o in orders.order_deadlines_warn()] == [order.pk]
    assert orders.order_deadlines_warn() == []
    assert len(mail.outbox) == 1 and order.reference in mail.outbox[0].subject
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="order.deadline_warning").count() == 1

"""Webhooks: a tenant's HTTPS endpoints and the deliveries of events to them (docs/api.md, "Webhooks")."""

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.sealing import SealedTextField
from tenants.managers import TenantScopedManager
from tenants.models import Tenant


class EventType(models.TextChoices):
    DISCLOSURE_RECALLED = "disclosure.recalled", _("A face the tenant received was erased or restricted (GDPR Art. 19)")
    REQUEST_FORWARDED = "request.forwarded", _("A data subject's request was forwarded to the tenant")
    ORDER_ACTIVATED = "order.activated", _("A regulatory order affecting the tenant's gallery came into force")
    SEARCH_COMPLETED = "search.completed", _("A search of the tenant finished")


class WebhookEndpoint(models.Model):
    """Where a tenant's system receives events. The secret signs every delivery; it is shown once
    at creation and stored sealed (portal.sealing), since signing needs it back in clear."""

    # No index of its own: the (tenant, active) index starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.CASCADE, related_name="webhook_endpoints")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = models.URLField(max_length=500)
    secret = SealedTextField(purpose="webhook_secret")
    events = ArrayField(models.CharField(max_length=32, choices=EventType.choices))
    active = models.BooleanField(default=True)
    created_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["tenant", "active"])]


class WebhookDelivery(models.Model):
    """One event sent to one endpoint. A replay is a new delivery with the same `event_id`. Per
    endpoint, deliveries go out in `id` order: a delivery waits while an earlier one is pending."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed")

    # No index of its own: the (tenant, -id) index starts with it (tests/core/test_redundant_indexes.py).
    tenant = models.ForeignKey(Tenant, db_index=False, on_delete=models.CASCADE, related_name="+")
    # No index of its own: the (endpoint, status, id) index starts with it (tests/core/test_redundant_indexes.py).
    endpoint = models.ForeignKey(WebhookEndpoint, db_index=False, on_delete=models.CASCADE, related_name="deliveries")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event_id = models.UUIDField(db_index=True)
    event_type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField()
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=200, blank=True, help_text=_("The start of the last answer only."))
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()

    class Meta:
        indexes = [models.Index(fields=["endpoint", "status", "id"]), models.Index(fields=["tenant", "-id"])]

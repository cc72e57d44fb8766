"""Probes are kept for the tenant's retention period, then purged (hourly)."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.search import services as search_services
from portal.search.models import Search
from tenants.context import dangerously_unscoped
from tests.builders import search_add

pytestmark = pytest.mark.django_db


def test_probes_past_retention_are_purged(two_tenants):
    a = two_tenants.a.tenant
    old = search_add(tenant=a, face_ids=[])
    fresh = search_add(tenant=a, face_ids=[])
    with dangerously_unscoped(reason="test"):
        Search.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=a.probe_retention_days + 1))
        Search.objects.filter(pk=fresh.pk).update(probe_expires_at=timezone.now() + timedelta(days=5))
    assert search_services.probes_purge() == 1
    with dangerously_unscoped(reason="test"):
        assert Search.objects.get(pk=old.pk).probe.name == ""
        assert Search.objects.get(pk=fresh.pk).probe.name != ""
    assert default_storage.exists(fresh.probe.name)

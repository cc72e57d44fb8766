"""API test helpers: keys for both tenants, clients that send them, pictures from ../shared/faces."""

import io
import itertools
from dataclasses import dataclass

import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from portal.api.models import ApiKeyScope
from portal.api.services import api_key_create
from portal.audit.services import Actor

ALL_SCOPES = ApiKeyScope.values
_cache_names = itertools.count()


@pytest.fixture(autouse=True)
def _private_rate_limit_cache(settings):
    # Rate-limit counters live in the cache; the shared Redis would carry them between tests
    # (and between engineers' test databases, whose key ids repeat).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"api-tests-{next(_cache_names)}"}}


@dataclass
class KeyedClient:
    client: APIClient
    raw_key: str
    api_key: object

    def __getattr__(self, name):
        return getattr(self.client, name)


def keyed_client(*, tenant, scopes=ALL_SCOPES, name="test key") -> KeyedClient:
    api_key, raw_key = api_key_create(tenant=tenant, name=name, scopes=scopes, actor=Actor.system("tests"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return KeyedClient(client=client, raw_key=raw_key, api_key=api_key)


@pytest.fixture
def api_a(two_tenants) -> KeyedClient:
    return keyed_client(tenant=two_tenants.a.tenant, name="agency A system")


@pytest.fixture
def api_b(two_tenants) -> KeyedClient:
    return keyed_client(tenant=two_tenants.b.tenant, name="retailer B system")


@pytest.fixture
def picture(faces_dir):
    def read(name: str) -> bytes:
        return (faces_dir / name).read_bytes()
    return read


def faceless_jpeg() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (320, 240), (200, 180, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


# Tenant A is law enforcement: its searches state an authorisation granted in advance.
SEARCH_FIELDS = {"case_reference": "CASE-1", "purpose": "identify a suspect", "authorisation_authority": "Crown Court",
                 "authorisation_reference": "AUTH-1", "authorisation_date": "2026-01-05"}

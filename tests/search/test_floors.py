"""Floors no caller can lower (portal/search/floors.py): per kind of tenant, the lowest lead
threshold and the most matches; a tenant may be stricter, never looser; asking for less is a 400
naming the limit; retail tenants never see faces below their threshold."""

import io

import psycopg
import pytest

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.platform.models import SealedTOTPDevice
from portal.search.floors import FLOOR_DEFAULTS, LimitInvalid, floor_set, search_limits, tenant_search_limits_set
from portal.search.models import Band, Search, SearchMatch
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant
from tests.api.conftest import keyed_client
from tests.builders import AUTHORISED_FORM
from tests.factories import TenantFactory, app_role_connect, totp_token

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
KINDS = [Tenant.Kind.LAW_ENFORCEMENT, Tenant.Kind.RETAIL, Tenant.Kind.OTHER]


@pytest.fixture
def tenant_of_kind(faces_dir):
    """A tenant of the kind with Biden in its gallery: a different person from the probe (Obama)."""
    def make(kind):
        tenant = TenantFactory(kind=kind, case_reference_required=False)
        image_ingest(tenant=tenant, data=(faces_dir / "biden_1.jpg").read_bytes(), actor=ACTOR,
                     legal_basis=LegalBasis.LAW_ENFORCEMENT)
        return tenant
    return make


def _api_search(client, faces_dir, **fields):
    picture = io.BytesIO((faces_dir / "obama_2.jpg").read_bytes())
    return client.post("/api/v1/searches", {"picture": picture, **AUTHORISED_FORM, **fields}, format="multipart")


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_below_at_and_above_its_floor_over_the_api(tenant_of_kind, faces_dir, kind):
    tenant = tenant_of_kind(kind)
    api = keyed_client(tenant=tenant).client
    floor, max_k = FLOOR_DEFAULTS[kind]
    below = _api_search(api, faces_dir, threshold=round(floor - 0.01, 2))
    assert below.status_code == 400
    error = below.json()["error"]
    assert error["code"] == "limit_invalid" and list(error["fields"]) == ["threshold"]
    assert f"floor of {floor:g}" in error["message"] and Tenant.Kind(kind).label.lower() in error["message"]
    for asked in (floor, round(floor + 0.01, 2)):
        done = _api_search(api, faces_dir, threshold=asked)
        assert done.status_code == 201, done.content
        assert done.json()["threshold"] == asked
    too_many = _api_search(api, faces_dir, k=max_k + 1)
    assert too_many.status_code == 400 and f"limit of {max_k} matches" in too_many.json()["error"]["message"]
    assert _api_search(api, faces_dir, k=max_k).status_code == 201
    # Asking for nothing: the calibrated default raised to the floor, the default k within the limit.
    default = _api_search(api, faces_dir).json()
    assert default["threshold"] == max(0.90, floor) and default["k"] == min(10, max_k)
    with tenant_scope(tenant):
        assert Search.objects.count() == 4  # the refused ones stored nothing


def test_retail_never_sees_a_face_below_its_threshold_law_enforcement_sees_it_folded(tenant_of_kind, faces_dir):
    for kind, expected in ((Tenant.Kind.RETAIL, []), (Tenant.Kind.LAW_ENFORCEMENT, [Band.BELOW])):
        tenant = tenant_of_kind(kind)
        search = _api_search(keyed_client(tenant=tenant).client, faces_dir).json()
        assert [m["band"] for m in search["matches"]] == expected, kind
        with tenant_scope(tenant):
            assert list(SearchMatch.objects.filter(search__public_id=search["id"]).values_list("band", flat=True)) \
                == expected


def test_the_page_searches_within_the_floor(client, two_tenants, faces_dir):
    """The page asks for no threshold: a retail search gets the retail floor and no face below it."""
    image_ingest(tenant=two_tenants.b.tenant, data=(faces_dir / "biden_1.jpg").read_bytes(), actor=ACTOR,
                 legal_basis=LegalBasis.CONSENT)
    client.force_login(two_tenants.b.investigator)
    picture = io.BytesIO((faces_dir / "obama_2.jpg").read_bytes())
    picture.name = "obama_2.jpg"
    response = client.post("/t/retailer-b/search/", {"picture": picture, "case_reference": "C", "purpose": "p"})
    assert response.status_code == 302
    with tenant_scope(two_tenants.b.tenant):
        search = Search.objects.get()
        assert search.threshold == FLOOR_DEFAULTS[Tenant.Kind.RETAIL][0] and not search.matches.exists()


def test_a_tenant_may_be_stricter_never_looser(client, two_tenants, faces_dir):
    tenant = two_tenants.a.tenant
    with pytest.raises(LimitInvalid, match="not looser"):
        tenant_search_limits_set(tenant=tenant, min_threshold=0.85, max_k=None, actor=ACTOR)
    with pytest.raises(LimitInvalid, match="not higher"):
        tenant_search_limits_set(tenant=tenant, min_threshold=None, max_k=51, actor=ACTOR)
    client.force_login(two_tenants.a.owner)
    response = client.post("/t/agency-a/admin/settings/", {
        "case_reference_required": "on", "probe_retention_days": 30, "search_min_threshold": "0.95",
        "search_max_k": "5"})
    assert response.status_code == 302
    tenant.refresh_from_db()
    limits = search_limits(tenant=tenant)
    assert (limits.min_threshold, limits.max_k) == (0.95, 5)
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="tenant.search_limits_update").exists()
    api = keyed_client(tenant=tenant).client
    refused = _api_search(api, faces_dir, threshold=0.93, case_reference="C", purpose="p")
    assert refused.status_code == 400 and "your organisation set" in refused.json()["error"]["message"]
    assert _api_search(api, faces_dir, k=6, case_reference="C", purpose="p").status_code == 400
    looser = client.post("/t/agency-a/admin/settings/", {
        "case_reference_required": "on", "probe_retention_days": 30, "search_min_threshold": "0.5"})
    assert looser.status_code == 400 and "not looser" in looser.content.decode()


def test_only_the_platform_sets_floors(client, two_tenants, user_factory):
    floor_set(kind=Tenant.Kind.OTHER, min_threshold=0.92, max_k=15, actor=ACTOR)
    assert search_limits(tenant=TenantFactory(kind=Tenant.Kind.OTHER)).max_k == 15
    with pytest.raises(LimitInvalid):
        floor_set(kind=Tenant.Kind.OTHER, min_threshold=0.5, max_k=15, actor=ACTOR)
    with app_role_connect(autocommit=True) as app, pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute("UPDATE search_searchfloor SET min_threshold = 0.1")
    # The platform area's page, for a verified operator; anyone else gets 404.
    operator = user_factory(is_staff=True, email="floors@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(two_tenants.a.owner)
    assert client.get("/platform/search-floors/").status_code == 404
    client.force_login(operator)
    client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    page = client.get("/platform/search-floors/")
    assert page.status_code == 200 and "0.92" in page.content.decode()
    saved = client.post("/platform/search-floors/", {"kind": "retail", "min_threshold": "0.95", "max_k": "8"})
    assert saved.status_code == 302
    assert search_limits(tenant=two_tenants.b.tenant).min_threshold == 0.95
    refused = client.post("/platform/search-floors/", {"kind": "retail", "min_threshold": "0.2", "max_k": "8"})
    assert refused.status_code == 400 and "between" in refused.content.decode()
    with dangerously_unscoped(reason="test: the platform's chain"):
        assert AuditEvent.objects.filter(action="search.floor_set", tenant__isnull=True).count() == 2

"""GET /api/v1/reports/yearly and /api/v1/platform/reports/yearly: the service's figures, the
same as the pages', each tenant only its own, the audit:read scope, and a 400 naming `year`."""

import pytest

from portal.audit.services import Actor
from portal.platform.services import staff_token_create
from portal.search.yearly_report import platform_report_data, platform_yearly_report, report_data
from tests.api.conftest import keyed_client
from tests.builders import report_figures

pytestmark = pytest.mark.django_db

URL, PLATFORM_URL = "/api/v1/reports/yearly", "/api/v1/platform/reports/yearly"


def test_a_tenant_gets_its_year(api_a, yearly_world, client):
    response = api_a.get(URL, {"year": 2026})
    assert response.status_code == 200
    data = response.json()
    assert report_figures(data) == yearly_world.expected_a
    assert data["tenant"] == {"slug": "agency-a", "name": "Agency A", "kind": "law_enforcement"}
    assert data["period"]["year"] == 2026
    # The page shows the same figures.
    client.force_login(yearly_world.two_tenants.a.owner)
    page = client.get("/t/agency-a/reports/yearly/", {"year": "2026"})
    assert report_figures(data) == report_figures(report_data(page.context["report"]))


def test_the_other_tenant_gets_only_its_own(api_b, yearly_world):
    data = api_b.get(URL, {"year": 2026}).json()
    assert report_figures(data) == yearly_world.expected_b and data["tenant"]["slug"] == "retailer-b"


def test_the_key_needs_the_audit_read_scope(two_tenants):
    searcher = keyed_client(tenant=two_tenants.a.tenant, scopes=["search", "review"])
    response = searcher.get(URL)
    assert response.status_code == 403 and "audit:read" in response.json()["error"]["message"]
    reader = keyed_client(tenant=two_tenants.a.tenant, scopes=["audit:read"])
    assert reader.get(URL).status_code == 200


@pytest.mark.parametrize("year", ["twenty", "1999", "3000", "2026.0", " "])
def test_a_bad_year_is_a_400_naming_the_field(api_a, year):
    response = api_a.get(URL, {"year": year})
    if year == " ":  # blank: this year
        assert response.status_code == 200
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_year" and list(error["fields"]) == ["year"]


@pytest.fixture
def platform_api(client, user_factory):
    operator = user_factory(is_staff=True)
    _token, secret = staff_token_create(user=operator, name="reports", actor=Actor.system("test"))
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


def test_the_platform_gets_every_tenant_and_the_totals(platform_api, yearly_world):
    response = platform_api.get(PLATFORM_URL, {"year": "2026"})
    assert response.status_code == 200
    data = response.json()
    rows = {row["tenant"]["slug"]: report_figures(row) for row in data["tenants"]}
    assert rows == {"agency-a": yearly_world.expected_a, "retailer-b": yearly_world.expected_b}
    assert data["totals"]["searches"]["total"] == 8
    service = platform_report_data(platform_yearly_report(year=2026))
    assert {**data, "generated_at": None} == {**service, "generated_at": None}


def test_the_platform_api_refuses_a_bad_year_and_tenants_keys(platform_api, api_a):
    response = platform_api.get(PLATFORM_URL, {"year": "MMXXVI"})
    assert response.status_code == 400 and response.json()["error"]["fields"] == {
        "year": [response.json()["error"]["message"]]}
    assert api_a.get(PLATFORM_URL).status_code in (401, 404)


def test_both_are_in_their_schemas(api_a, platform_api):
    tenant_schema = api_a.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/reports/yearly" in tenant_schema["paths"]
    assert "/api/v1/platform/reports/yearly" not in tenant_schema["paths"]
    platform_schema = platform_api.get("/api/v1/platform/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/platform/reports/yearly" in platform_schema["paths"]

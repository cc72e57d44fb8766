"""A law-enforcement search's authorisation over the API (EU AI Act Art. 26(10)): stated with the
search, or urgent and recorded later with POST /searches/{id}/authorisation."""

import io

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.search.models import Search
from tenants.context import tenant_scope
from tests.api.conftest import SEARCH_FIELDS

pytestmark = pytest.mark.django_db

WHY = {"case_reference": "CASE-1", "purpose": "identify a suspect"}


@pytest.fixture
def enrolled_a(api_a, picture):
    response = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("obama_1.jpg")),
                                             "legal_basis": "law_enforcement"}, format="multipart")
    assert response.status_code == 201, response.content


def _search(api, picture, **fields):
    return api.post("/api/v1/searches", {"picture": io.BytesIO(picture("obama_2.jpg")), **fields}, format="multipart")


def _record(api, search_id, **body):
    body = {"decision": "granted", "authority": "Crown Court", "reference": "AUTH-9",
            "date": timezone.localdate().isoformat(), **body}
    return api.post(f"/api/v1/searches/{search_id}/authorisation", body, format="json")


def test_a_law_enforcement_search_without_an_authorisation_is_a_clear_400(api_a, enrolled_a, picture, two_tenants):
    response = _search(api_a, picture, **WHY)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "authorisation_invalid" and "Art. 26(10)" in error["message"]
    assert "authorisation_reference" in error["fields"]
    future = _search(api_a, picture, **{**SEARCH_FIELDS, "authorisation_date": "2999-01-01"})
    assert future.status_code == 400 and "authorisation_date" in future.json()["error"]["fields"]
    with tenant_scope(two_tenants.a.tenant):
        assert not Search.objects.exists()


def test_granted_in_advance_shows_on_the_search(api_a, enrolled_a, picture):
    search = _search(api_a, picture, **SEARCH_FIELDS).json()
    assert search["authorisation"] == {
        "status": "granted", "urgent": False, "authority": "Crown Court", "reference": "AUTH-1", "date": "2026-01-05",
        "due_at": None, "recorded_at": search["authorisation"]["recorded_at"]}
    assert search["matches"] and search["results_erased_at"] is None


def test_an_urgent_search_refused_loses_its_results_and_keeps_its_record(api_a, api_b, enrolled_a, picture):
    created = _search(api_a, picture, **WHY, urgent="true")
    assert created.status_code == 201, created.content
    search = created.json()
    assert search["authorisation"]["status"] == "pending" and search["authorisation"]["due_at"]
    assert search["matches"]
    # Another tenant's key: the same 404 as an absent search, for every method.
    for api, search_id in ((api_b, search["id"]), (api_a, "00000000-0000-4000-8000-000000000000")):
        assert _record(api, search_id).status_code == 404
        assert api.get(f"/api/v1/searches/{search_id}/authorisation").status_code == 405
    # Bad input changes nothing.
    assert _record(api_a, search["id"], date="2020-01-01").status_code == 400
    assert _record(api_a, search["id"], decision="maybe").status_code == 400
    assert _record(api_a, search["id"], authority="").status_code == 400
    assert api_a.get(f"/api/v1/searches/{search['id']}").json()["authorisation"]["status"] == "pending"

    refused = _record(api_a, search["id"], decision="refused")
    assert refused.status_code == 200, refused.content
    assert refused.json()["authorisation"]["status"] == "refused" and refused.json()["results_erased_at"]
    again = api_a.get(f"/api/v1/searches/{search['id']}").json()
    assert again["matches"] == [] and again["case_reference"] == "CASE-1"
    assert _record(api_a, search["id"]).status_code == 409


def test_the_endpoint_is_in_the_schema(db):
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/searches/{search_id}/authorisation"]["post"]
    assert {"400", "404", "409"} <= set(operation["responses"])
    assert "urgent" in schema["components"]["schemas"]["SearchCreateMultipartRequest"]["properties"]

"""Reviews and evidence packs over the API: review state on every match, verdicts as the key's
maker, idempotent creation, export refused then allowed, views recorded, other tenant 404."""

import io
import uuid

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from portal.api.services import api_key_create
from portal.audit.services import Actor
from portal.search.models import Disclosure, MatchReview, SearchAccess, SearchMatch
from tenants.context import tenant_scope
from tests.builders import reviewers_allow, search_with_leads

pytestmark = pytest.mark.django_db


def _client_of(user, tenant, scopes=("search", "review")) -> APIClient:
    _key, raw = api_key_create(tenant=tenant, name=f"{user.email} key", scopes=list(scopes), actor=Actor.of_user(user))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def lead(two_tenants):
    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin, a.investigator])
    search = search_with_leads(world=a, leads=1)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.get(search=search)
    path = f"/api/v1/searches/{search.public_id}/matches/{match.public_id}"
    return a, search, match, path


def _count(world, model):
    with tenant_scope(world.tenant):
        return model.objects.count()


def test_every_match_carries_its_review_state(lead):
    a, search, match, path = lead
    body = _client_of(a.owner, a.tenant).get(f"/api/v1/searches/{search.public_id}").json()
    [m] = body["matches"]
    assert m["id"] == str(match.public_id) and m["unconfirmed_lead"] is True
    assert m["review"] == {"state": "unconfirmed", "confirmations": 0, "confirmations_required": 2, "verdicts": []}
    assert m["crop_url"].endswith(f"/crop?search={search.public_id}")


def test_two_people_confirm_over_the_api_and_the_evidence_pack_names_both(lead):
    a, search, match, path = lead
    owner, investigator, admin = (_client_of(u, a.tenant) for u in (a.owner, a.investigator, a.admin))
    assert owner.get(f"{path}/evidence-pack").status_code == 409
    first = owner.post(f"{path}/reviews", {"verdict": "confirmed", "reason": "Same scar."}, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["match_review"]["state"] == "unconfirmed" and first.json()["verdict"]["audit_position"] > 0
    refused = investigator.post(f"{path}/reviews", {"verdict": "confirmed", "reason": "Him."}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "searcher_second"
    again = owner.post(f"{path}/reviews", {"verdict": "confirmed", "reason": "Sure."}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_confirmed"
    second = admin.post(f"{path}/reviews", {"verdict": "confirmed", "reason": "Same ear."}, format="json")
    assert second.json()["match_review"]["state"] == "confirmed"
    body = owner.get(f"/api/v1/searches/{search.public_id}").json()
    assert body["matches"][0]["unconfirmed_lead"] is False
    reviewers = [v["reviewer"] for v in owner.get(f"{path}/reviews").json()["verdicts"]]
    assert a.owner.email in reviewers[0] and a.admin.email in reviewers[1]
    pdf = owner.get(f"{path}/evidence-pack")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert a.owner.email in text and a.admin.email in text
    twin = owner.get(f"{path}/evidence-pack?format=json")
    assert twin["Content-Type"] == "application/json" and twin.json()["review"]["confirmed_by"] == reviewers
    assert _count(a, MatchReview) == 2 and _count(a, Disclosure) == 2
    with tenant_scope(a.tenant):
        assert SearchAccess.objects.filter(via="api", what="evidence").count() == 2
        assert SearchAccess.objects.filter(via="api", what="results").count() == 1


@pytest.mark.parametrize("body, field", [({"verdict": "confirmed"}, "reason"), ({"verdict": "rejected", "reason": ""},
                                          "reason"), ({"verdict": "sure"}, "verdict"), ({}, "verdict")])
def test_bad_verdicts_are_400_and_store_nothing(lead, body, field):
    a, search, match, path = lead
    response = _client_of(a.owner, a.tenant).post(f"{path}/reviews", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert _count(a, MatchReview) == 0


def test_a_key_without_a_person_or_without_the_permission_cannot_review(lead):
    a, search, match, path = lead
    _key, raw = api_key_create(tenant=a.tenant, name="system", scopes=["search", "review"], actor=Actor.system("t"))
    system = APIClient()
    system.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = system.post(f"{path}/reviews", {"verdict": "inconclusive"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_reviewer"
    auditor = _client_of(a.auditor, a.tenant)
    assert auditor.post(f"{path}/reviews", {"verdict": "inconclusive"}, format="json").status_code == 403
    searching = _client_of(a.owner, a.tenant, scopes=["search"])
    assert searching.post(f"{path}/reviews", {"verdict": "inconclusive"}, format="json").status_code == 403
    assert _count(a, MatchReview) == 0


def test_creating_a_verdict_is_idempotent(lead):
    a, search, match, path = lead
    owner = _client_of(a.owner, a.tenant)
    body = {"verdict": "confirmed", "reason": "Same scar."}
    first = owner.post(f"{path}/reviews", body, format="json", HTTP_IDEMPOTENCY_KEY="review-1")
    replay = owner.post(f"{path}/reviews", body, format="json", HTTP_IDEMPOTENCY_KEY="review-1")
    assert first.status_code == replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json() and _count(a, MatchReview) == 1


def test_another_tenants_ids_are_404_like_absent_ones_for_every_method(lead, two_tenants):
    a, search, match, path = lead
    b = two_tenants.b
    reviewers_allow(tenant=b.tenant, users=[b.owner])
    other = _client_of(b.owner, b.tenant)
    absent = f"/api/v1/searches/{uuid.uuid4()}/matches/{uuid.uuid4()}"
    for target in (path, absent, f"/api/v1/searches/{search.public_id}/matches/{uuid.uuid4()}"):
        answers = [other.get(f"{target}/reviews"),
                   other.post(f"{target}/reviews", {"verdict": "confirmed", "reason": "x"}, format="json"),
                   other.get(f"{target}/evidence-pack"), other.get(f"{target}/evidence-pack?format=json")]
        assert [r.status_code for r in answers] == [404] * 4, target
        assert {r.json()["error"]["code"] for r in answers} == {"not_found"}
    crop = other.get(f"/api/v1/faces/{uuid.uuid4()}/crop?search={search.public_id}")
    assert crop.status_code == 404
    assert _count(a, MatchReview) == 0 and _count(a, Disclosure) == 0


def test_a_match_whose_face_was_deleted_is_gone(lead):
    a, search, match, path = lead
    owner = _client_of(a.owner, a.tenant)
    image_id = owner.get(f"/api/v1/searches/{search.public_id}").json()["matches"][0]["image_id"]
    gallery = _client_of(a.owner, a.tenant, scopes=["gallery:write", "gallery:read"])
    assert gallery.delete(f"/api/v1/images/{image_id}").status_code == 204
    assert owner.post(f"{path}/reviews", {"verdict": "confirmed", "reason": "x"}, format="json").status_code == 404
    assert _count(a, MatchReview) == 0


def test_a_crop_fetched_from_a_search_is_recorded_as_a_view_of_it(lead):
    a, search, match, path = lead
    owner = _client_of(a.owner, a.tenant)
    crop_url = owner.get(f"/api/v1/searches/{search.public_id}").json()["matches"][0]["crop_url"]
    assert owner.get(crop_url).status_code == 200
    with tenant_scope(a.tenant):
        assert SearchAccess.objects.filter(search=search, what="crop", via="api").count() == 1


def test_the_schema_describes_the_review_endpoints(db):
    paths = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    reviews = paths["/api/v1/searches/{search_id}/matches/{match_id}/reviews"]
    assert {"201", "400", "403", "404", "409"} <= set(reviews["post"]["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in reviews["post"]["parameters"])
    evidence = paths["/api/v1/searches/{search_id}/matches/{match_id}/evidence-pack"]["get"]
    assert {"application/pdf", "application/json"} <= set(evidence["responses"]["200"]["content"])
    assert "409" in evidence["responses"] and "404" in evidence["responses"]


def test_review_states_cost_the_same_queries_for_one_match_or_many(two_tenants):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner])
    owner = _client_of(a.owner, a.tenant)
    counts = []
    for leads in (1, 4):
        search = search_with_leads(world=a, leads=leads)
        with tenant_scope(a.tenant):
            matches = list(SearchMatch.objects.filter(search=search))
        for match in matches:
            owner.post(f"/api/v1/searches/{search.public_id}/matches/{match.public_id}/reviews",
                       {"verdict": "inconclusive"}, format="json")
        with CaptureQueriesContext(connection) as queries:
            assert owner.get(f"/api/v1/searches/{search.public_id}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]

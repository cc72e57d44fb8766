"""Searches, face detection and the audit log over the API."""

import base64
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.gallery.services import image_ingest
from portal.search.models import Search
from portal.audit.services import Actor
from tenants.context import tenant_scope
from tests.api.conftest import SEARCH_FIELDS, faceless_jpeg, keyed_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def gallery_a(api_a, picture):
    """Tenant A's gallery: Obama and Biden enrolled as subjects."""
    ids = {}
    for label, name in [("Obama", "obama_1.jpg"), ("Biden", "biden_1.jpg")]:
        subject = api_a.post("/api/v1/subjects", {"label": label}, format="json").json()
        response = api_a.post(f"/api/v1/subjects/{subject['id']}/pictures",
                              {"picture": io.BytesIO(picture(name)), "legal_basis": "law_enforcement",
                               "source_url": f"https://records.example.gov.uk/{name}"}, format="multipart")
        assert response.status_code == 201
        ids[label] = subject["id"]
    return ids


def _search(api, data: bytes, **fields):
    return api.post("/api/v1/searches", {"picture": io.BytesIO(data), **SEARCH_FIELDS, **fields}, format="multipart")


def test_search_finds_the_person_with_provenance(api_a, gallery_a, picture):
    response = _search(api_a, picture("obama_2.jpg"), k=5)
    assert response.status_code == 201, response.content
    search = response.json()
    assert search["case_reference"] == "CASE-1" and search["status"] == "completed" and search["k"] == 5
    assert search["actor"].startswith("API key ")
    best = search["matches"][0]
    assert best["rank"] == 1 and best["subject"]["label"] == "Obama" and best["band"] in {"strong", "possible"}
    assert best["similarity"] > search["matches"][1]["similarity"]
    assert best["in_platform_index"] is False and best["image_id"] is not None
    assert best["provenance"]["source_domain"] == "records.example.gov.uk"
    assert best["provenance"]["legal_basis"] == "law_enforcement"
    assert search["matches"][1]["band"] == "below"

    crop = api_a.get(best["crop_url"])
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg"

    read = api_a.get(f"/api/v1/searches/{search['id']}").json()
    assert read["matches"] == search["matches"]


def test_search_with_json_base64_and_face_index(api_a, gallery_a, picture):
    probe = base64.b64encode(picture("group_obama_biden_1.jpg")).decode()
    detected = api_a.post("/api/v1/faces/detect", {"picture_base64": probe}, format="json")
    assert detected.status_code == 200
    faces = detected.json()["faces"]
    assert len(faces) == 2 and [face["index"] for face in faces] == [0, 1]
    assert base64.b64decode(faces[0]["crop_base64"])[:2] == b"\xff\xd8"
    # Search each detected face: together they find both people.
    found = set()
    for face in faces:
        response = api_a.post("/api/v1/searches", {"picture_base64": probe, "face_index": face["index"],
                                                   **SEARCH_FIELDS}, format="json")
        assert response.status_code == 201, response.content
        found.add(response.json()["matches"][0]["subject"]["label"])
    assert found == {"Obama", "Biden"}


def test_search_list_filters_and_pages(api_a, gallery_a, picture):
    first = _search(api_a, picture("obama_2.jpg"), case_reference="OP-ALPHA").json()
    second = _search(api_a, picture("biden_2.jpg"), case_reference="OP-BETA").json()
    listed = api_a.get("/api/v1/searches").json()
    assert [s["id"] for s in listed["results"]] == [second["id"], first["id"]]
    assert "matches" not in listed["results"][0]
    assert [s["id"] for s in api_a.get("/api/v1/searches", {"case_reference": "alpha"}).json()["results"]] \
        == [first["id"]]
    assert api_a.get("/api/v1/searches", {"created_from": "2999-01-01"}).json()["results"] == []
    assert api_a.get("/api/v1/searches", {"created_to": "2999-01-01T00:00:00Z"}).json()["results"] != []
    page = api_a.get("/api/v1/searches", {"page_size": 1}).json()
    assert [s["id"] for s in page["results"]] == [second["id"]]
    assert [s["id"] for s in api_a.get(page["next"]).json()["results"]] == [first["id"]]
    assert api_a.get("/api/v1/searches", {"cursor": "cD1hYmM="}).status_code == 400
    assert api_a.get("/api/v1/searches", {"page_size": 0}).status_code == 400


def test_search_without_required_case_reference_is_400_and_stores_nothing(api_a, gallery_a, picture, two_tenants):
    response = api_a.post("/api/v1/searches", {"picture": io.BytesIO(picture("obama_2.jpg"))}, format="multipart")
    assert response.status_code == 400
    assert "case_reference" in response.json()["error"]["fields"]
    with tenant_scope(two_tenants.a.tenant):
        assert not Search.objects.exists()


def test_search_errors(api_a, picture, two_tenants):
    no_face = _search(api_a, faceless_jpeg())
    assert no_face.status_code == 422 and no_face.json()["error"]["code"] == "no_face_found"
    not_a_picture = _search(api_a, b"%PDF-1.4 not a picture at all")
    assert not_a_picture.status_code in (400, 415)
    assert not_a_picture.json()["error"]["code"] in ("unsupported_image_type", "corrupt_image")
    bad_face = _search(api_a, picture("obama_2.jpg"), face_index=5)
    assert bad_face.status_code == 400 and "face_index" in bad_face.json()["error"]["fields"]
    bad_k = _search(api_a, picture("obama_2.jpg"), k=0)
    assert bad_k.status_code == 400 and "k" in bad_k.json()["error"]["fields"]
    with tenant_scope(two_tenants.a.tenant):
        assert not Search.objects.exists()


def test_other_tenants_searches_and_crops_are_404(api_a, api_b, gallery_a, picture):
    search = _search(api_a, picture("obama_2.jpg")).json()
    assert api_b.get(f"/api/v1/searches/{search['id']}").status_code == 404
    assert api_b.get(search["matches"][0]["crop_url"]).status_code == 404
    assert api_b.get("/api/v1/searches").json()["results"] == []
    # Tenant B's own search does not see tenant A's gallery.
    own = _search(api_b, picture("obama_2.jpg")).json()
    assert own["matches"] == []


def test_platform_index_matches_hide_the_image_but_keep_provenance(api_a, api_b, picture):
    image_ingest(tenant=None, data=picture("obama_1.jpg"), actor=Actor.system("import"),
                 legal_basis="public_record", source_url="https://press.example.com/obama.jpg", region="US")
    search = _search(api_a, picture("obama_2.jpg")).json()  # agency A is entitled to the platform index
    best = search["matches"][0]
    assert best["in_platform_index"] is True and best["image_id"] is None and best["subject"] is None
    assert best["provenance"]["source_domain"] == "press.example.com" and best["provenance"]["region"] == "US"
    assert api_a.get(best["crop_url"]).status_code == 200
    # Retailer B is not entitled: the platform face is neither found nor served.
    assert _search(api_b, picture("obama_2.jpg")).json()["matches"] == []
    assert api_b.get(best["crop_url"]).status_code == 404


def test_audit_lists_only_own_events(api_a, api_b, gallery_a, picture):
    _search(api_a, picture("obama_2.jpg"), case_reference="OP-AUDIT")
    events = api_a.get("/api/v1/audit").json()["results"]
    actions = [event["action"] for event in events]
    assert actions[0] == "search.run" and "image.ingest" in actions and "subject.create" in actions
    assert events[0]["details"]["case_reference"] == "OP-AUDIT"
    assert events[0]["actor_api_key"] == str(api_a.api_key.public_id) and "actor_user_id" not in events[0]
    # The tenant's own chain, numbered without gaps whatever other tenants did meanwhile.
    assert [e["position"] for e in events] == list(range(len(events), 0, -1))
    assert "seq" not in events[0]
    only_searches = api_a.get("/api/v1/audit", {"action": "search.run"}).json()["results"]
    assert {event["action"] for event in only_searches} == {"search.run"}
    b_events = api_b.get("/api/v1/audit").json()["results"]
    assert all(event["actor_api_key"] != str(api_a.api_key.public_id) for event in b_events)
    assert {event["action"] for event in b_events} == {"api_key.create"}


def test_search_scope_alone_cannot_touch_the_gallery(two_tenants, picture):
    searcher = keyed_client(tenant=two_tenants.a.tenant, scopes=["search"])
    assert searcher.get("/api/v1/images").status_code == 403
    assert searcher.post("/api/v1/images", {"legal_basis": "consent"}, format="json").status_code == 403
    assert searcher.get("/api/v1/audit").status_code == 403


def test_search_detail_queries_do_not_grow_with_the_matches(api_a, gallery_a, picture):
    search = _search(api_a, picture("obama_2.jpg"), k=1).json()
    wide = _search(api_a, picture("obama_2.jpg"), k=10).json()
    assert len(wide["matches"]) > len(search["matches"]) == 1
    counts = []
    for search_id in (search["id"], wide["id"]):
        with CaptureQueriesContext(connection) as captured:
            assert api_a.get(f"/api/v1/searches/{search_id}").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]

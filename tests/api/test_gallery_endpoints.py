"""Subjects and images over the API: every endpoint, and 404 for the other tenant's ids."""

import base64
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.core.files.storage import default_storage

from portal.gallery.models import Face, Image, Subject
from tenants.context import tenant_scope
from tests.api.conftest import faceless_jpeg

pytestmark = pytest.mark.django_db


def _subject(api, label="Obama", **fields):
    response = api.post("/api/v1/subjects", {"label": label, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _enrol(api, subject_id, data: bytes, **fields):
    return api.post(f"/api/v1/subjects/{subject_id}/pictures",
                    {"picture": io.BytesIO(data), "legal_basis": "law_enforcement", **fields}, format="multipart")


def test_subject_crud(api_a):
    subject = _subject(api_a, reference="BK-1", notes="watch list")
    assert subject["label"] == "Obama" and subject["reference"] == "BK-1" and subject["picture_count"] == 0
    listed = api_a.get("/api/v1/subjects").json()
    assert [s["id"] for s in listed["results"]] == [subject["id"]] and listed["next"] is None
    assert api_a.get(f"/api/v1/subjects/{subject['id']}").json()["notes"] == "watch list"
    changed = api_a.patch(f"/api/v1/subjects/{subject['id']}", {"label": "Barack Obama"}, format="json")
    assert changed.status_code == 200 and changed.json()["label"] == "Barack Obama"
    assert changed.json()["reference"] == "BK-1"
    assert api_a.delete(f"/api/v1/subjects/{subject['id']}").status_code == 204
    assert api_a.get(f"/api/v1/subjects/{subject['id']}").status_code == 404


def test_subject_validation_errors_name_the_field(api_a):
    response = api_a.post("/api/v1/subjects", {"label": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid" and "label" in response.json()["error"]["fields"]


def test_enrol_stores_the_picture_with_provenance(api_a, picture):
    subject = _subject(api_a)
    response = _enrol(api_a, subject["id"], picture("obama_1.jpg"), source_url="https://news.example.fr/a.jpg",
                      collected_at="2026-01-02T03:04:05Z")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    image = body["image"]
    assert image["subject"]["id"] == subject["id"] and len(image["faces"]) == 1
    assert image["provenance"] == {"source_url": "https://news.example.fr/a.jpg", "source_domain": "news.example.fr",
                                   "region": "FR", "region_evidence": "source_domain",
                                   "legal_basis": "law_enforcement", "collected_at": "2026-01-02T03:04:05Z"}
    assert api_a.get(f"/api/v1/subjects/{subject['id']}").json()["picture_count"] == 1
    again = _enrol(api_a, subject["id"], picture("obama_1.jpg"))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["image"]["id"] == image["id"]
    # The home country is weaker evidence than the source's .fr: nothing new.
    assert again.json()["evidence_recorded"] is False
    declared = _enrol(api_a, subject["id"], picture("obama_1.jpg"), region="DE")
    assert declared.status_code == 200 and declared.json()["evidence_recorded"] is True
    assert declared.json()["withheld_by"] is None
    assert declared.json()["image"]["provenance"]["region"] == "DE"


def test_enrol_with_json_base64(api_a, picture):
    subject = _subject(api_a)
    response = api_a.post(f"/api/v1/subjects/{subject['id']}/pictures",
                          {"picture_base64": base64.b64encode(picture("biden_2.jpg")).decode(),
                           "legal_basis": "consent", "region": "us-il"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["image"]["provenance"]["region"] == "US-IL"


def test_image_upload_list_filter_read_delete(api_a, picture, two_tenants, django_capture_on_commit_callbacks):
    subject = _subject(api_a)
    first = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("biden_1.jpg")),
                                          "legal_basis": "public_record"}, format="multipart")
    second = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("obama_3.jpg")),
                                           "legal_basis": "law_enforcement", "subject_id": subject["id"]},
                        format="multipart")
    assert first.status_code == second.status_code == 201
    first_id, second_id = first.json()["image"]["id"], second.json()["image"]["id"]

    listed = api_a.get("/api/v1/images").json()["results"]
    assert [image["id"] for image in listed] == [second_id, first_id]
    by_subject = api_a.get("/api/v1/images", {"subject_id": subject["id"]}).json()["results"]
    assert [image["id"] for image in by_subject] == [second_id]
    assert api_a.get("/api/v1/images", {"created_from": "2999-01-01T00:00:00Z"}).json()["results"] == []
    assert api_a.get("/api/v1/images", {"created_to": "not a date"}).status_code == 400

    page = api_a.get("/api/v1/images", {"page_size": 1}).json()
    assert [image["id"] for image in page["results"]] == [second_id]
    assert [image["id"] for image in api_a.get(page["next"]).json()["results"]] == [first_id]

    read = api_a.get(f"/api/v1/images/{first_id}").json()
    assert read["provenance"]["legal_basis"] == "public_record" and read["faces"][0]["crop_url"].endswith("/crop")
    assert read["faces"][0]["detector"] == "hog"

    with tenant_scope(two_tenants.a.tenant):
        image = Image.objects.get(public_id=first_id)
        names = [image.file.name, *image.faces.values_list("crop", flat=True)]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_a.delete(f"/api/v1/images/{first_id}").status_code == 204
    assert api_a.get(f"/api/v1/images/{first_id}").status_code == 404
    with tenant_scope(two_tenants.a.tenant):
        assert not Face.objects.filter(image_id=image.pk).exists()
    assert not any(default_storage.exists(name) for name in names)


def test_image_upload_with_another_tenants_subject_is_refused(api_a, api_b, picture):
    subject_b = _subject(api_b, label="B's")
    response = api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("biden_1.jpg")),
                                             "legal_basis": "consent", "subject_id": subject_b["id"]},
                          format="multipart")
    assert response.status_code == 400 and "subject_id" in response.json()["error"]["fields"]


def test_face_crop_is_served_only_through_the_api(api_a, api_b, picture):
    subject = _subject(api_a)
    face = _enrol(api_a, subject["id"], picture("obama_1.jpg")).json()["image"]["faces"][0]
    crop = api_a.get(face["crop_url"])
    assert crop.status_code == 200 and crop["Content-Type"] == "image/jpeg" and crop.content[:2] == b"\xff\xd8"
    assert crop["Cache-Control"] == "private, no-store"
    assert api_b.get(face["crop_url"]).status_code == 404
    assert "/media/" not in face["crop_url"]


def test_other_tenants_ids_are_404_everywhere(api_a, api_b, picture):
    subject = _subject(api_a)
    image = _enrol(api_a, subject["id"], picture("obama_1.jpg")).json()["image"]
    for method, path, body in [
        ("get", f"/api/v1/subjects/{subject['id']}", None),
        ("patch", f"/api/v1/subjects/{subject['id']}", {"label": "x"}),
        ("delete", f"/api/v1/subjects/{subject['id']}", None),
        ("get", f"/api/v1/images/{image['id']}", None),
        ("delete", f"/api/v1/images/{image['id']}", None),
    ]:
        response = getattr(api_b, method)(path, body, format="json")
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
    enrol = _enrol(api_b, subject["id"], picture("biden_1.jpg"))
    assert enrol.status_code == 404
    assert api_b.get("/api/v1/subjects").json()["results"] == []
    assert api_b.get("/api/v1/images").json()["results"] == []
    # ...and tenant A still has everything.
    assert api_a.get(f"/api/v1/images/{image['id']}").status_code == 200


def test_no_face_is_422_and_stores_nothing(api_a, two_tenants):
    subject = _subject(api_a)
    response = _enrol(api_a, subject["id"], faceless_jpeg())
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_face_found"
    with tenant_scope(two_tenants.a.tenant):
        assert not Image.objects.exists()


def test_bad_region_is_400_naming_the_field(api_a, picture):
    subject = _subject(api_a)
    response = _enrol(api_a, subject["id"], picture("obama_1.jpg"), region="XX")
    assert response.status_code == 400 and "region" in response.json()["error"]["fields"]


def test_subject_delete_removes_its_pictures(api_a, picture, two_tenants):
    subject = _subject(api_a)
    _enrol(api_a, subject["id"], picture("obama_1.jpg"))
    assert api_a.delete(f"/api/v1/subjects/{subject['id']}").status_code == 204
    with tenant_scope(two_tenants.a.tenant):
        assert not Subject.objects.exists() and not Image.objects.exists()


def test_image_list_queries_do_not_grow_with_the_page(api_a, picture):
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api_a.get("/api/v1/images").status_code == 200
        return len(captured)

    api_a.post("/api/v1/images", {"picture": io.BytesIO(picture("obama_1.jpg")), "legal_basis": "consent"},
               format="multipart")
    one = list_queries()
    for name in ["biden_1.jpg", "group_obama_biden_1.jpg"]:
        api_a.post("/api/v1/images", {"picture": io.BytesIO(picture(name)), "legal_basis": "consent"},
                   format="multipart")
    assert list_queries() == one

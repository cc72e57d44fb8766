"""Gallery pages: subjects, enrolling one or many pictures (script and plain form), deleting."""

import io

import pytest

from portal.audit.models import AuditEvent
from portal.gallery.models import Face, Image, Subject
from tenants.context import tenant_scope
from tests.web.conftest import subject_make

pytestmark = pytest.mark.django_db


def _enrol(client, subject, *files, json=True, **fields):
    data = {"legal_basis": "law_enforcement", "region": "", "source_url": "", **fields, "pictures": list(files)}
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(f"/t/agency-a/subjects/{subject.public_id}/enrol/", data, **headers)


def test_create_subject_then_see_it_listed(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    response = client.post("/t/agency-a/subjects/", {"label": "Jane Roe", "reference": "B-1", "notes": ""})
    assert response.status_code == 302
    listing = client.get("/t/agency-a/subjects/").content.decode()
    assert "Jane Roe" in listing and "B-1" in listing
    assert client.post("/t/agency-a/subjects/", {"label": ""}).status_code == 400
    client.force_login(two_tenants.b.owner)
    assert "Jane Roe" not in client.get("/t/retailer-b/subjects/").content.decode()


def test_empty_gallery_says_what_to_do(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    assert "No subjects yet" in client.get("/t/agency-a/subjects/").content.decode()


def test_enrol_one_picture_at_a_time_answers_json_per_file(client, two_tenants, faces_dir):
    subject = subject_make(tenant=two_tenants.a.tenant, label="Obama")
    client.force_login(two_tenants.a.investigator)
    with open(faces_dir / "obama_1.jpg", "rb") as picture:
        ok = _enrol(client, subject, picture)
    assert ok.status_code == 200 and ok.json()["ok"] and ok.json()["faces"] == 1 and ok.json()["created"]
    with open(faces_dir / "obama_1.jpg", "rb") as picture:
        again = _enrol(client, subject, picture)
    assert again.json()["ok"] and not again.json()["created"]
    broken = _enrol(client, subject, io.BytesIO(b"definitely not a picture"))
    # Refusals come in the API's error shape.
    assert broken.status_code >= 400 and broken.json()["error"]["message"] and "ok" not in broken.json()
    with open(faces_dir / "obama_2.jpg", "rb") as picture:
        bad_region = _enrol(client, subject, picture, region="ZZ")
    assert bad_region.status_code == 400 and "region" in bad_region.json()["error"]["fields"]
    with tenant_scope(two_tenants.a.tenant):
        assert Image.objects.filter(subject=subject).count() == 1
    page = client.get(f"/t/agency-a/subjects/{subject.public_id}/")
    assert page.status_code == 200 and "/crop.jpg" in page.content.decode()
    fragment = client.get(f"/t/agency-a/subjects/{subject.public_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<section") and "Enrol pictures" not in fragment


def test_enrol_many_with_the_plain_form_reports_each_file(client, two_tenants, faces_dir):
    subject = subject_make(tenant=two_tenants.a.tenant, label="Kit")
    client.force_login(two_tenants.a.investigator)
    with open(faces_dir / "kit_harington_1.jpg", "rb") as one, open(faces_dir / "kit_harington_2.jpg", "rb") as two:
        response = _enrol(client, subject, one, two, io.BytesIO(b"junk"), json=False)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert page.count("enrolled, 1 face found") == 2
    with tenant_scope(two_tenants.a.tenant):
        assert Image.objects.filter(subject=subject).count() == 2


def test_enrol_without_a_legal_basis_is_refused(client, two_tenants, faces_dir):
    subject = subject_make(tenant=two_tenants.a.tenant)
    client.force_login(two_tenants.a.investigator)
    with open(faces_dir / "obama_1.jpg", "rb") as picture:
        response = _enrol(client, subject, picture, legal_basis="")
    assert response.status_code == 400 and "legal_basis" in response.json()["error"]["fields"]


def test_delete_picture_then_subject(client, two_tenants, faces_dir):
    subject = subject_make(tenant=two_tenants.a.tenant, label="Rose")
    client.force_login(two_tenants.a.investigator)
    for name in ("rose_leslie_1.jpg", "rose_leslie_2.jpg"):
        with open(faces_dir / name, "rb") as picture:
            assert _enrol(client, subject, picture).json()["ok"]
    with tenant_scope(two_tenants.a.tenant):
        image = Image.objects.filter(subject=subject).first()
    # Another tenant cannot delete it, nor see it.
    client.force_login(two_tenants.b.owner)
    assert client.post(f"/t/retailer-b/images/{image.public_id}/delete/").status_code == 404
    assert client.get(f"/t/retailer-b/images/{image.public_id}/picture").status_code == 404
    client.force_login(two_tenants.a.investigator)
    assert client.get(f"/t/agency-a/images/{image.public_id}/picture").status_code == 200
    assert client.post(f"/t/agency-a/images/{image.public_id}/delete/").status_code == 302
    with tenant_scope(two_tenants.a.tenant):
        assert Image.objects.filter(subject=subject).count() == 1
    assert client.post(f"/t/agency-a/subjects/{subject.public_id}/delete/").status_code == 302
    with tenant_scope(two_tenants.a.tenant):
        assert not Subject.objects.exists() and not Face.objects.exists()
        assert AuditEvent.objects.filter(action="subject.delete").count() == 1


def test_auditor_cannot_enrol_or_delete(client, two_tenants, faces_dir):
    subject = subject_make(tenant=two_tenants.a.tenant)
    client.force_login(two_tenants.a.auditor)
    with open(faces_dir / "obama_1.jpg", "rb") as picture:
        assert _enrol(client, subject, picture).status_code == 403
    assert client.post(f"/t/agency-a/subjects/{subject.public_id}/delete/").status_code == 403

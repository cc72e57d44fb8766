"""The access answer reaches the requester behind their status link: the platform index's part once
the operator released it, each tenant's once that tenant released it, the others named; a forged
link finds nothing, an expired answer is gone and so is the face kept to build it."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.rights.answers import ANSWER_AVAILABLE_DAYS, access_answers_expire
from portal.rights.decisions import forwarded_decide, request_platform_decide
from portal.rights.models import DataSubjectRequest, ForwardedRequest, RequestFace
from portal.rights.services import request_verify
from tenants.context import dangerously_unscoped
from tests.rights.conftest import SYSTEM, confirm_from, submit

pytestmark = pytest.mark.django_db


def _answer_zip(client, token, **headers) -> dict:
    response = client.get(f"/opt-out/status/{token}/answer.zip", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip" and "no-store" in response["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        data = json.loads(archive.read("access-answer.json"))
    return {"names": names, "data": data}


@pytest.fixture
def access_request(rights_gallery, faces_dir, smtp_server, user_factory, commit):
    """An access request by the person in every gallery, verified; forwarded to tenants a, b and c."""
    a, b, c, images = rights_gallery
    with commit():
        submitted = submit(faces_dir, kind="access", email="asks@example.test")
    confirm_from(smtp_server.wait_for(1)[0])
    operator = Actor.of_user(user_factory(is_staff=True))
    request = request_verify(request=submitted.request, actor=operator)
    with dangerously_unscoped(reason="test"):
        rows = {row.tenant_id: row for row in ForwardedRequest.objects.filter(request_id=request.pk)}
    assert set(rows) == {a.pk, b.pk, c.pk}
    return {"request": request, "token": submitted.status_token, "rows": rows, "operator": operator,
            "tenants": (a, b, c), "images": images}


def test_the_answer_holds_the_released_parts_and_names_the_others(client, access_request):
    a, b, c = access_request["tenants"]
    token, rows = access_request["token"], access_request["rows"]
    # Nothing to download before the operator released the platform index's part.
    assert client.get(f"/opt-out/status/{token}/answer.zip").status_code == 404
    assert "answer.pdf" not in client.get(f"/opt-out/status/{token}/").content.decode()

    request_platform_decide(request=access_request["request"], actor=access_request["operator"], comply=True)
    forwarded_decide(tenant=c, public_id=rows[c.pk].public_id, actor=SYSTEM, comply=True)  # released
    forwarded_decide(tenant=b, public_id=rows[b.pk].public_id, actor=SYSTEM, comply=False,
                     ground="law_enforcement", reasoning="An open investigation.")
    page = client.get(f"/opt-out/status/{token}/").content.decode()
    assert f"/opt-out/status/{token}/answer.pdf" in page and f"/opt-out/status/{token}/answer.zip" in page

    answer = _answer_zip(client, token)
    pictures = answer["data"]["pictures"]
    held_by = sorted(p["held_by"] for p in pictures)
    assert [p["gallery"] for p in pictures].count("platform") == 1
    assert held_by.count(c.name) == 1 and a.name not in held_by and b.name not in held_by
    group = next(p for p in pictures if p["held_by"] == c.name)
    assert group["other_faces_blurred"] == 1 and group["file"] in answer["names"]
    withheld = {row["held_by"]: row for row in answer["data"]["withheld"]}
    assert withheld[a.name]["status"] == "pending"
    assert withheld[b.name]["status"] == "refused" and "Law-enforcement" in withheld[b.name]["ground"]

    # A later release shows in the next download; the PDF is served too.
    forwarded_decide(tenant=a, public_id=rows[a.pk].public_id, actor=SYSTEM, comply=True)
    assert a.name in {p["held_by"] for p in _answer_zip(client, token)["data"]["pictures"]}
    pdf = client.get(f"/opt-out/status/{token}/answer.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="request.answer_download").count() == 3


def test_the_answer_comes_in_the_requesters_language(client, access_request):
    request_platform_decide(request=access_request["request"], actor=access_request["operator"], comply=True)
    data = _answer_zip(client, access_request["token"], HTTP_ACCEPT_LANGUAGE="fr")["data"]
    assert data["language"] == "fr" and data["pictures"]
    assert data["texts"]["title"] != "Your access request: the pictures we hold of you"


def test_forged_links_and_other_formats_find_nothing(client, access_request):
    request_platform_decide(request=access_request["request"], actor=access_request["operator"], comply=True)
    token = access_request["token"]
    forged = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off, never the token itself
    for path in (f"/opt-out/status/{forged}/answer.zip", f"/opt-out/status/{'x' * 43}/answer.pdf",
                 f"/opt-out/status/{access_request['request'].public_id}/answer.zip",
                 f"/opt-out/status/{token}/answer.json"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/opt-out/status/{token}/answer.zip").status_code == 405


def test_the_answer_expires_and_the_face_kept_for_it_is_deleted(client, access_request):
    request, token = access_request["request"], access_request["token"]
    request_platform_decide(request=request, actor=access_request["operator"], comply=True)
    assert access_answers_expire() == []  # not expired: the face stays
    with dangerously_unscoped(reason="test"):
        assert RequestFace.objects.filter(request=request).count() == 1
        past = timezone.now() - timedelta(days=ANSWER_AVAILABLE_DAYS + 1)
        DataSubjectRequest.objects.filter(pk=request.pk).update(platform_decided_at=past)
    response = client.get(f"/opt-out/status/{token}/answer.zip")
    assert response.status_code == 410 and "has expired" in response.content.decode()
    assert "answer.zip" not in client.get(f"/opt-out/status/{token}/").content.decode()
    assert access_answers_expire() == [request.reference]
    with dangerously_unscoped(reason="test"):
        assert not RequestFace.objects.filter(request=request).exists()
        assert AuditEvent.objects.filter(action="request.answer_expired").count() == 1
    assert access_answers_expire() == []

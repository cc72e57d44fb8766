"""The answer to an access request (GDPR Art. 15), on the real face engine and the pictures in
../shared/faces: every gallery is searched; only the platform index's part and released tenants'
parts appear, the others are named as withheld with nothing of their content; recipients come
from the disclosure records; other faces are blurred beyond the engine's reach while the
requester's still matches; the PDF and the ZIP's JSON say the same; a person nobody holds gets
an answer saying so."""

import io
import json
import zipfile
from datetime import datetime, timezone as dt_timezone

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.files.storage import default_storage
from django.core.management.base import CommandError
from django.db import connections
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.compliance.access_answers import AccessAnswerInvalid, access_answer_build
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.faces.engine import face_engine
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.search.services import search_run
from tenants.context import dangerously_unscoped
from tests.builders import AUTHORISED, order_fields

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=dt_timezone.utc)


def _ingest(tenant, faces_dir, name, **provenance):
    return image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=SYSTEM,
                        legal_basis=provenance.pop("legal_basis", LegalBasis.LAW_ENFORCEMENT), **provenance).image


def _face(faces_dir, name) -> np.ndarray:
    return face_engine().faces_detect(data=(faces_dir / name).read_bytes()).largest().embedding


def _similarities(data: bytes, reference: np.ndarray) -> list[float]:
    return [float(np.dot(face.embedding, reference)) for face in face_engine().faces_detect(data=data).faces]


def _pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    # Whitespace as one space: table cells wrap their text on several lines.
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _answer(faces_dir, released, name="obama_1.jpg", **options):
    return access_answer_build(embeddings=[_face(faces_dir, name)], threshold=settings.SEARCH_STRONG_THRESHOLD,
                               released_tenant_ids=released, reference="AR-2026-0001", received_at=RECEIVED,
                               **options)


@pytest.fixture
def held(two_tenants, faces_dir, client):
    """Obama in the platform index (alone, and beside Biden), in A's gallery and in B's; Biden and
    Kit Harington elsewhere. A (entitled to the platform index) searched him and opened the results."""
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    pictures = {
        "platform": _ingest(None, faces_dir, "obama_2.jpg", source_url="https://news.example.org/a/obama.jpg",
                            region="US", legal_basis=LegalBasis.PUBLIC_RECORD,
                            collected_at=datetime(2025, 3, 4, 12, 0, tzinfo=dt_timezone.utc)),
        "group": _ingest(None, faces_dir, "group_obama_biden_1.jpg", source_url="https://press.example.com/g.jpg",
                         legal_basis=LegalBasis.PUBLIC_RECORD),
        "a": _ingest(a, faces_dir, "obama_3.jpg"),
        "b": _ingest(b, faces_dir, "obama_small.jpg"),
        "others": [_ingest(None, faces_dir, "biden_2.jpg"), _ingest(a, faces_dir, "kit_harington_1.jpg")],
    }
    # The same platform picture declared again from another source: its evidence history grows.
    _ingest(None, faces_dir, "obama_2.jpg", source_url="https://mirror.example.net/obama.jpg", region="US",
            legal_basis=LegalBasis.PUBLIC_RECORD)
    search = search_run(tenant=a, actor=Actor.of_user(two_tenants.a.investigator),
                        probe=(faces_dir / "obama_4.jpg").read_bytes(), case_reference="C-77", purpose="robbery",
                        authorisation=AUTHORISED)
    client.force_login(two_tenants.a.investigator)
    assert client.get(f"/t/agency-a/searches/{search.public_id}/").status_code == 200
    return a, b, pictures


def test_every_gallery_is_searched_and_only_released_parts_appear(held, faces_dir):
    a, b, pictures = held
    answer = _answer(faces_dir, released={a.pk})

    assert answer.summary["galleries"] == {"platform": {"found": 2, "included": 2},
                                           "agency-a": {"found": 1, "included": 1},
                                           "retailer-b": {"found": 1, "included": 0}}
    data = answer.data
    ids = [entry["id"] for entry in data["pictures"]]
    assert ids == [str(pictures["platform"].public_id), str(pictures["group"].public_id), str(pictures["a"].public_id)]
    assert data["withheld"] == [{"held_by": "Retailer B", "status": "pending", "ground": "",
                                 "status_label": "Pending its controller's decision"}]
    # Nothing of B's part leaks: neither its picture's id nor anything else of it.
    archive = zipfile.ZipFile(io.BytesIO(answer.zip))
    assert str(pictures["b"].public_id) not in archive.read("access-answer.json").decode()
    assert not any(str(pictures["b"].public_id) in name for name in archive.namelist())
    assert str(pictures["b"].public_id) not in _pdf_text(answer.pdf)[1]
    # Nor of pictures of other people.
    assert not {str(p.public_id) for p in pictures["others"]} & set(ids)

    # Bulk reads: one more gallery's pictures cost no more statements.
    with CaptureQueriesContext(connections["platform"]) as one:
        _answer(faces_dir, released={a.pk})
    with CaptureQueriesContext(connections["platform"]) as two:
        both = _answer(faces_dir, released={a.pk, b.pk})
    assert both.summary["included"] == 4 and both.data["withheld"] == []
    assert len(two.captured_queries) == len(one.captured_queries)
    refused = _answer(faces_dir, released=set(), refused_tenant_grounds={b.pk: "Art. 23(1)(d) GDPR: investigation"})
    assert refused.summary["included"] == 2
    assert [(w["held_by"], w["status"], w["ground"]) for w in refused.data["withheld"]] == [
        ("Agency A", "pending", ""), ("Retailer B", "refused", "Art. 23(1)(d) GDPR: investigation")]


def test_the_json_is_complete_and_the_pdf_says_the_same(held, faces_dir):
    a, _b, pictures = held
    answer = _answer(faces_dir, released={a.pk})
    archive = zipfile.ZipFile(io.BytesIO(answer.zip))
    data = json.loads(archive.read("access-answer.json"))
    assert data == json.loads(json.dumps(answer.data))
    assert data["reference"] == "AR-2026-0001" and data["received_at"] == RECEIVED.isoformat()
    assert archive.read("access-answer.pdf") == answer.pdf

    platform = data["pictures"][0]
    with dangerously_unscoped(reason="test"):
        pictures["platform"].refresh_from_db()
    image = pictures["platform"]
    assert platform["source_url"] == image.source_url and platform["source_domain"] == image.source_domain
    assert (platform["region"], platform["legal_basis"]) == ("US", "public_record")
    assert platform["collected_at"] == image.collected_at.isoformat()
    assert platform["held_by"] == "Platform index (the operator's)" and platform["being_erased"] is False
    assert [e["source_domain"] for e in platform["evidence"]] == ["news.example.org", "mirror.example.net"]
    assert data["pictures"][2]["held_by"] == "Agency A"
    for entry in data["pictures"]:
        assert entry["file"] in archive.namelist()
        assert entry["similarity"] >= settings.SEARCH_STRONG_THRESHOLD

    pages, text = _pdf_text(answer.pdf)
    assert pages == 1 + len(data["pictures"])
    for expected in ("AR-2026-0001", "Article 15", "Retailer B", "Pending its controller's decision",
                     "news.example.org", "mirror.example.net", "Public record", "Agency A", "Search results page",
                     str(image.public_id)):
        assert expected in text, expected

    french = _answer(faces_dir, released={a.pk}, language="fr")
    _pages, text = _pdf_text(french.pdf)
    assert "article 15 du règlement général" in text and "Registre public" in text and "En attente de la décision" in text
    assert "Declared at import" not in text and "Public record" not in text  # the evidence rows too
    assert french.data["withheld"][0]["status_label"] == "En attente de la décision de son responsable du traitement"


def test_recipients_are_the_tenants_shown_the_face(held, faces_dir):
    a, b, pictures = held
    answer = _answer(faces_dir, released={a.pk, b.pk})
    by_id = {entry["id"]: entry for entry in answer.data["pictures"]}
    for key in ("platform", "group", "a"):
        recipients = by_id[str(pictures[key].public_id)]["recipients"]
        assert [(r["tenant"], r["via"]) for r in recipients] == [("Agency A", "page")], key
        assert datetime.fromisoformat(recipients[0]["at"]).date() == datetime.now(dt_timezone.utc).date()
    # B searched nobody: its own picture was shown to no one.
    assert by_id[str(pictures["b"].public_id)]["recipients"] == []
    # The case reference is the recipient's (an investigation's), not the requester's to read.
    assert "C-77" not in answer.zip.decode("latin-1") and "C-77" not in _pdf_text(answer.pdf)[1]


def test_other_faces_are_blurred_beyond_the_engine_and_the_requester_still_matches(held, faces_dir):
    a, _b, pictures = held
    answer = _answer(faces_dir, released={a.pk})
    archive = zipfile.ZipFile(io.BytesIO(answer.zip))
    group = next(e for e in answer.data["pictures"] if e["id"] == str(pictures["group"].public_id))
    assert (group["faces_in_picture"], group["other_faces_blurred"]) == (2, 1)
    obama, biden = _face(faces_dir, "obama_1.jpg"), _face(faces_dir, "biden_1.jpg")
    strong = settings.SEARCH_STRONG_THRESHOLD
    # The original: both people found and matched, so the checks below can fail.
    original = (faces_dir / "group_obama_biden_1.jpg").read_bytes()
    assert max(_similarities(original, biden)) >= strong and max(_similarities(original, obama)) >= strong
    blurred = archive.read(group["file"])
    assert max(_similarities(blurred, obama)) >= strong
    assert len(face_engine().faces_detect(data=blurred).faces) == 1
    assert max(_similarities(blurred, biden)) < 0.9  # not even the subject-order threshold
    # The copy on the PDF's page is the blurred one too, scaled down.
    page = PdfReader(io.BytesIO(answer.pdf)).pages[1 + answer.data["pictures"].index(group)]
    [shown] = page.images
    assert max(shown.image.size) == 900
    assert max(_similarities(shown.data, obama)) >= strong and max(_similarities(shown.data, biden)) < 0.9
    # A picture of the requester alone is given unblurred (and still matches).
    alone = next(e for e in answer.data["pictures"] if e["id"] == str(pictures["platform"].public_id))
    assert alone["other_faces_blurred"] == 0
    assert max(_similarities(archive.read(alone["file"]), obama)) >= strong


def test_pictures_an_order_covers_appear_as_being_erased(held, faces_dir):
    a, _b, pictures = held
    order = order_create(**order_fields(kind=RegulatoryOrder.Kind.SUBJECT, scope_all=False, scope_platform_index=True,
                                        reference_pictures=[(faces_dir / "obama_1.jpg").read_bytes()]))
    order_activate(order=order, actor=SYSTEM)
    answer = _answer(faces_dir, released={a.pk})
    erasing = {e["id"]: e["being_erased"] for e in answer.data["pictures"]}
    assert erasing == {str(pictures["platform"].public_id): True, str(pictures["group"].public_id): True,
                       str(pictures["a"].public_id): False}
    assert "Being erased" in _pdf_text(answer.pdf)[1]

    # Enforcement deletes the file: the entry stays until the row goes, saying so, with no copy.
    default_storage.delete(pictures["platform"].file.name)
    answer = _answer(faces_dir, released={a.pk})
    entry = answer.data["pictures"][0]
    assert entry["id"] == str(pictures["platform"].public_id) and entry["file"] is None
    assert "no longer stored" in _pdf_text(answer.pdf)[1]
    assert len([n for n in zipfile.ZipFile(io.BytesIO(answer.zip)).namelist() if n.startswith("pictures/")]) == 2


def test_a_person_nobody_holds_gets_an_answer_saying_so(held, faces_dir):
    a, b, _pictures = held
    answer = _answer(faces_dir, released={a.pk, b.pk}, name="lin_manuel_miranda_1.png")
    assert answer.summary == {"galleries": {}, "found": 0, "included": 0}
    assert answer.data["nothing_held"] is True and answer.data["pictures"] == [] and answer.data["withheld"] == []
    pages, text = _pdf_text(answer.pdf)
    assert pages == 1 and "no picture of you is held" in text
    assert zipfile.ZipFile(io.BytesIO(answer.zip)).namelist() == ["access-answer.pdf", "access-answer.json"]


def test_bad_arguments_are_refused(faces_dir, db):
    embedding = _face(faces_dir, "obama_1.jpg")
    base = dict(embeddings=[embedding], threshold=settings.SEARCH_STRONG_THRESHOLD, released_tenant_ids=set(),
                reference="AR-1", received_at=RECEIVED)
    for change, field in ((dict(threshold=0.5), "threshold"), (dict(embeddings=[]), "embeddings"),
                          (dict(reference=" "), "reference"), (dict(language="de"), "language"),
                          (dict(released_tenant_ids={1}, refused_tenant_grounds={1: "x"}), "refused_tenant_grounds")):
        with pytest.raises(AccessAnswerInvalid) as refused:
            access_answer_build(**{**base, **change})
        assert refused.value.field == field


def test_the_command_writes_the_answer_and_is_audited(held, faces_dir, tmp_path, capsys):
    a, _b, _pictures = held
    call_command("access_answer", picture=str(faces_dir / "obama_1.jpg"), release_tenant=["agency-a"],
                 out=str(tmp_path), reference="AR-CLI-1", language="fr")
    printed = json.loads(capsys.readouterr().out)
    assert printed["galleries"]["retailer-b"] == {"found": 1, "included": 0} and printed["included"] == 3
    archive = zipfile.ZipFile(tmp_path / "access-answer.zip")
    assert json.loads(archive.read("access-answer.json"))["language"] == "fr"
    assert PdfReader(tmp_path / "access-answer.pdf").pages
    with dangerously_unscoped(reason="test"):
        event = AuditEvent.objects.get(action="access.answer")
    assert event.tenant_id is None and event.target_id == "AR-CLI-1"
    assert event.details["released"] == ["agency-a"] and event.details["included"] == 3

    with pytest.raises(CommandError, match="exactly one face"):
        call_command("access_answer", picture=str(faces_dir / "group_kit_rose.jpg"), out=str(tmp_path))
    with pytest.raises(CommandError, match="no tenant"):
        call_command("access_answer", picture=str(faces_dir / "obama_1.jpg"), release_tenant=["nobody"],
                     out=str(tmp_path))
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="access.answer").count() == 1

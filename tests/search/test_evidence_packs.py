"""Evidence packs (portal/search/evidence.py): refused for an unconfirmed match; for a confirmed
one a PDF naming both reviewers, a JSON twin, a disclosure record and an audited export."""

import io
import json

import pytest
from pypdf import PdfReader

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.search.evidence import ExportRefused, evidence_pack_export
from portal.search.models import Disclosure, FaceDisclosure, SearchAccess, SearchMatch
from portal.search.reviews import match_review_add
from tenants.context import tenant_scope
from tenants.models import Membership
from tests.builders import reviewers_allow, search_with_leads

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(two_tenants):
    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin])
    search = search_with_leads(world=a, leads=1)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.select_related("face__image").get(search=search)
    return a, search, match


def _confirm(world, search, match, user, reason):
    with tenant_scope(world.tenant):
        membership = Membership.objects.select_related("user").get(tenant=world.tenant, user=user)
        match_review_add(tenant=world.tenant, search=search, match=match, reviewer=membership, verdict="confirmed",
                         reason=reason, actor=Actor.of_user(user))


def _export(world, search, match, format):
    with tenant_scope(world.tenant):
        return evidence_pack_export(tenant=world.tenant, search=search, match=match, format=format, via="page",
                                    actor=Actor.of_user(world.investigator))


def test_an_unconfirmed_match_is_not_exported_and_nothing_is_recorded(lead):
    a, search, match = lead
    _confirm(a, search, match, a.owner, "Same tattoo on the neck.")
    with pytest.raises(ExportRefused) as refused:
        _export(a, search, match, "pdf")
    assert refused.value.status == 409 and refused.value.code == "unconfirmed_lead"
    with tenant_scope(a.tenant):
        assert not Disclosure.objects.exists() and not SearchAccess.objects.exists()
        assert not FaceDisclosure.objects.filter(via="evidence").exists()
        assert not AuditEvent.objects.filter(action="evidence.export").exists()


def test_a_confirmed_match_exports_a_pdf_naming_both_reviewers_and_is_disclosed(lead):
    a, search, match = lead
    _confirm(a, search, match, a.owner, "Same tattoo on the neck.")
    _confirm(a, search, match, a.admin, "Same scar; same ear shape.")
    pack = _export(a, search, match, "pdf")
    assert pack.content_type == "application/pdf" and pack.filename == "evidence-CASE-12-1.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pack.content)).pages)
    for expected in (a.owner.email, a.admin.email, "Same tattoo on the neck.", "CASE-12", "robbery suspect",
                     str(match.face.uuid), "confirmed", "Face detector", "HOG (dlib)"):
        assert expected in text
    with tenant_scope(a.tenant):
        disclosure = Disclosure.objects.get()
        event = AuditEvent.objects.get(action="evidence.export")
        assert SearchAccess.objects.filter(search=search, what="evidence", actor_user=a.investigator).count() == 1
        # Recorded for recall notices too (GDPR Art. 19, portal/search/recalls.py).
        assert list(FaceDisclosure.objects.filter(via="evidence").values_list(
            "search_public_id", "case_reference", "face_uuid")) == [(search.public_id, "CASE-12", match.face.uuid)]
    assert disclosure.face_uuids == [match.face.uuid] and disclosure.actor_user_id == a.investigator.pk
    assert disclosure.audit_position == event.position and disclosure.format == "pdf"


def test_the_json_twin_carries_the_same_facts_with_audit_positions(lead):
    a, search, match = lead
    _confirm(a, search, match, a.owner, "Same tattoo on the neck.")
    _confirm(a, search, match, a.admin, "Same scar; same ear shape.")
    pack = _export(a, search, match, "json")
    data = json.loads(pack.content)
    assert data["review"]["state"] == "confirmed"
    reasons = [v["reason"] for v in data["review"]["verdicts"]]
    assert reasons == ["Same tattoo on the neck.", "Same scar; same ear shape."]
    assert all(v["audit_position"] > 0 for v in data["review"]["verdicts"])
    assert data["search"]["case_reference"] == "CASE-12"
    assert data["search"]["authorisation"]["status"] == "not_required"  # a search made by the test builder
    assert data["match"]["face_uuid"] == str(match.face.uuid) and data["match"]["band"] == "strong"
    assert data["match"]["detector"] == match.face.detector == "hog"
    assert data["export"]["audit_position"] > max(v["audit_position"] for v in data["review"]["verdicts"])


def test_an_unknown_format_is_refused(lead):
    a, search, match = lead
    _confirm(a, search, match, a.owner, "r1")
    _confirm(a, search, match, a.admin, "r2")
    with pytest.raises(Exception) as refused:
        _export(a, search, match, "docx")
    assert getattr(refused.value, "status", None) == 400

"""A law-enforcement search's authorisation (EU AI Act Art. 26(10), portal/search/authorisations.py):
granted in advance or urgent; a refusal or 48 hours without one deletes the results, the probe and
its embedding and keeps the record; searches with a lead keep their probe six months."""

from datetime import date, timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from portal.api.models import IdempotencyRecord
from portal.api.services import idempotency_record_store
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.gallery.models import Face, LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from portal.search import selectors
from portal.search.authorisations import (AuthorisationConflict, AuthorisationGiven, AuthorisationInvalid,
                                          authorisation_record, authorisations_overdue_erase)
from portal.search.models import Authorisation, Search, SearchMatch
from portal.search.reviews import match_get
from portal.search.services import probes_purge, search_run
from tenants.context import tenant_scope
from tests.builders import AUTHORISED

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("test")
URGENT = AuthorisationGiven(urgent=True)


@pytest.fixture
def obama_everywhere(two_tenants, faces_dir):
    """Obama in agency A's gallery and in the platform index (A may search it)."""
    tenant = two_tenants.a.tenant
    subject = subject_create(tenant=tenant, label="Obama", actor=ACTOR)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / "obama_1.jpg").read_bytes(), actor=ACTOR,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT)
    image_ingest(tenant=None, data=(faces_dir / "obama_3.jpg").read_bytes(), actor=ACTOR,
                 legal_basis=LegalBasis.PUBLIC_RECORD, source_url="https://news.example/a")
    return two_tenants


def _search(tenant, faces_dir, authorisation, picture="obama_2.jpg"):
    return search_run(tenant=tenant, actor=ACTOR, probe=(faces_dir / picture).read_bytes(), case_reference="C-1",
                      purpose="robbery", authorisation=authorisation)


def _stored(search) -> Search:
    with tenant_scope(search.tenant):
        return Search.objects.get(pk=search.pk)


def _match_count(search) -> int:
    with tenant_scope(search.tenant):
        return SearchMatch.objects.filter(search=search).count()


@pytest.mark.parametrize("given, field", [
    (None, "authorisation_reference"),
    (AuthorisationGiven(authority="Crown Court", reference="A-1"), "authorisation_date"),
    (AuthorisationGiven(reference="A-1", date=date(2026, 1, 5)), "authorisation_authority"),
    (AuthorisationGiven(authority="Crown Court", reference="A-1", date=date.today() + timedelta(days=2)),
     "authorisation_date"),
    (AuthorisationGiven(authority="Crown Court", reference="A-1", date=date(2026, 1, 5), urgent=True), "urgent"),
])
def test_a_law_enforcement_search_without_a_valid_authorisation_is_refused_and_stores_nothing(
        obama_everywhere, faces_dir, given, field):
    tenant = obama_everywhere.a.tenant
    with pytest.raises(AuthorisationInvalid) as refused:
        _search(tenant, faces_dir, given)
    assert refused.value.field == field and refused.value.status == 400
    with tenant_scope(tenant):
        assert not Search.objects.exists() and not AuditEvent.objects.filter(action="search.run").exists()


def test_granted_in_advance_is_recorded_and_audited(obama_everywhere, faces_dir):
    search = _stored(_search(obama_everywhere.a.tenant, faces_dir, AUTHORISED))
    assert (search.authorisation, search.authorisation_authority, search.authorisation_reference,
            search.authorisation_date, search.urgent) == (Authorisation.GRANTED, "Crown Court", "AUTH-1",
                                                          date(2026, 1, 5), False)
    with tenant_scope(search.tenant):
        event = AuditEvent.objects.get(action="search.run", target_id=str(search.public_id))
    assert event.details["authorisation"] == "granted" and event.details["authorisation_reference"] == "AUTH-1"


def test_other_tenants_need_none_and_may_not_mark_a_search_urgent(obama_everywhere, faces_dir):
    retailer = obama_everywhere.b.tenant
    assert _stored(_search(retailer, faces_dir, None)).authorisation == Authorisation.NOT_REQUIRED
    with pytest.raises(AuthorisationInvalid, match="Only law-enforcement"):
        _search(retailer, faces_dir, URGENT)


def test_an_urgent_search_is_authorised_within_48_hours_once(obama_everywhere, faces_dir):
    tenant = obama_everywhere.a.tenant
    search = _stored(_search(tenant, faces_dir, URGENT))
    assert search.authorisation == Authorisation.PENDING and search.urgent
    assert abs(search.authorisation_due_at - search.created_at - timedelta(hours=48)) < timedelta(seconds=5)
    assert _match_count(search) > 0 and not search.results_withheld
    for on, problem in ((search.created_at.date() - timedelta(days=1), "before the search"),
                        (timezone.localdate() + timedelta(days=1), "in the future")):
        with pytest.raises(AuthorisationInvalid, match=problem):
            authorisation_record(tenant=tenant, search=search, granted=True, authority="Crown Court",
                                 reference="A-9", on=on, actor=ACTOR)
    assert _stored(search).authorisation == Authorisation.PENDING
    authorisation_record(tenant=tenant, search=search, granted=True, authority="Crown Court", reference="A-9",
                         on=timezone.localdate(), actor=ACTOR)
    search = _stored(search)
    assert search.authorisation == Authorisation.GRANTED and search.authorisation_reference == "A-9"
    assert _match_count(search) > 0
    with pytest.raises(AuthorisationConflict):
        authorisation_record(tenant=tenant, search=search, granted=False, authority="Crown Court", reference="A-9",
                             on=timezone.localdate(), actor=ACTOR)


def test_a_refusal_deletes_the_results_probe_embedding_and_stored_responses_and_keeps_the_record(
        obama_everywhere, faces_dir, django_capture_on_commit_callbacks):
    tenant = obama_everywhere.a.tenant
    search = _stored(_search(tenant, faces_dir, URGENT))
    probe_name = search.probe.name
    with tenant_scope(tenant):
        platform_face = SearchMatch.objects.filter(search=search, face__tenant__isnull=True).first().face
        assert selectors.face_crop_get(tenant=tenant, face_uuid=platform_face.uuid) == platform_face
        idempotency_record_store(owner={"tenant": tenant, "api_key": None}, key="k-1", method="POST",
                                 path="/api/v1/searches", fingerprint="f", response_status=201,
                                 response_body={"id": str(search.public_id), "matches": []})
    with django_capture_on_commit_callbacks(execute=True):
        authorisation_record(tenant=tenant, search=search, granted=False, authority="Crown Court",
                             reference="REF-NO", on=timezone.localdate(), actor=ACTOR)
    search = _stored(search)
    assert search.authorisation == Authorisation.REFUSED and search.results_erased_at is not None
    assert search.probe.name == "" and search.probe_embedding is None and search.probe_face_box is None
    assert not default_storage.exists(probe_name)
    assert _match_count(search) == 0
    with tenant_scope(tenant):
        assert list(selectors.search_matches(search=search)) == []
        assert not IdempotencyRecord.objects.filter(key="k-1").exists()
        with pytest.raises(Face.DoesNotExist):  # the platform-index face it had returned
            selectors.face_crop_get(tenant=tenant, face_uuid=platform_face.uuid)
        erased = AuditEvent.objects.get(action="search.results_erase", target_id=str(search.public_id))
        assert AuditEvent.objects.filter(action="search.authorisation_refused").exists()
    assert erased.details["reason"] == "authorisation refused" and erased.details["probe"] == 1
    assert erased.details["matches"] > 0 and erased.details["stored_responses"] == 1
    # The record that it happened stays.
    assert (search.case_reference, search.purpose) == ("C-1", "robbery")


def test_48_hours_without_a_decision_withholds_at_once_and_the_task_deletes(obama_everywhere, faces_dir,
                                                                            django_capture_on_commit_callbacks):
    tenant = obama_everywhere.a.tenant
    search = _stored(_search(tenant, faces_dir, URGENT))
    later = search.authorisation_due_at + timedelta(minutes=1)
    assert authorisations_overdue_erase(now=search.authorisation_due_at - timedelta(minutes=1)) == 0
    with tenant_scope(tenant):
        Search.objects.filter(pk=search.pk).update(authorisation_due_at=timezone.now() - timedelta(seconds=1))
    search = _stored(search)
    assert search.results_withheld
    with tenant_scope(tenant):
        assert list(selectors.search_matches(search=search)) == []
        match_id = SearchMatch.objects.filter(search=search).values_list("public_id", flat=True).first()
        with pytest.raises(SearchMatch.DoesNotExist):  # no verdict on it either: the page and API say 404
            match_get(tenant=tenant, search=search, public_id=match_id)
    with pytest.raises(AuthorisationConflict, match="48 hours have passed"):
        authorisation_record(tenant=tenant, search=search, granted=True, authority="Crown Court", reference="LATE",
                             on=timezone.localdate(), actor=ACTOR)
    with django_capture_on_commit_callbacks(execute=True):
        assert authorisations_overdue_erase(now=later) == 1
    search = _stored(search)
    assert search.authorisation == Authorisation.OVERDUE and _match_count(search) == 0
    assert search.probe_embedding is None and search.probe.name == ""
    assert authorisations_overdue_erase(now=later) == 0


def test_a_search_with_a_lead_keeps_its_probe_six_months_one_without_the_tenants_retention(
        obama_everywhere, faces_dir, django_capture_on_commit_callbacks):
    tenant = obama_everywhere.a.tenant
    with_lead = _stored(_search(tenant, faces_dir, AUTHORISED))
    without = _stored(_search(tenant, faces_dir, AUTHORISED, picture="lin_manuel_miranda_1.png"))
    assert with_lead.probe_expires_at - with_lead.created_at > timedelta(days=183) - timedelta(seconds=5)
    assert without.probe_expires_at - without.created_at < timedelta(days=tenant.probe_retention_days + 1)
    with django_capture_on_commit_callbacks(execute=True):
        probes_purge(now=timezone.now() + timedelta(days=40))
    assert _stored(with_lead).probe.name and not _stored(without).probe.name
    with django_capture_on_commit_callbacks(execute=True):
        probes_purge(now=timezone.now() + timedelta(days=184))
    assert not _stored(with_lead).probe.name

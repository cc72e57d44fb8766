"""The result page's review: every match an unconfirmed lead until two people confirm it, the
verdict form for reviewers, export refused then allowed, and who looked (owners, auditors)."""

import io

import pytest
from pypdf import PdfReader

from portal.audit.models import AuditEvent
from portal.search.models import Disclosure, MatchReview, SearchAccess, SearchMatch
from tenants.context import tenant_scope
from tenants.models import Membership
from tests.builders import reviewers_allow, search_with_leads

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(two_tenants):
    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin, a.investigator])
    search = search_with_leads(world=a, leads=1)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.get(search=search)
    base = f"/t/agency-a/searches/{search.public_id}/"
    return a, search, match, base


def _verdict(client, base, match, verdict="confirmed", reason="Same scar above the left eye."):
    return client.post(f"{base}matches/{match.public_id}/reviews/", {"verdict": verdict, "reason": reason})


def _count(world, model):
    with tenant_scope(world.tenant):
        return model.objects.count()


def test_every_match_is_an_unconfirmed_lead_and_export_is_refused(client, lead):
    a, search, match, base = lead
    client.force_login(a.investigator)
    html = client.get(base).content.decode()
    assert "Unconfirmed lead" in html and "confirmations: 0 of 2" in html
    response = client.post(f"{base}matches/{match.public_id}/evidence/", {"format": "pdf"})
    assert response.status_code == 409
    assert "unconfirmed lead" in response.content.decode()
    assert _count(a, Disclosure) == 0


def test_two_reviewers_confirm_and_the_pdf_names_both(client, lead):
    a, search, match, base = lead
    client.force_login(a.owner)
    response = _verdict(client, base, match)
    assert response.status_code == 302 and response["Location"].endswith(f"#match-{match.public_id}")
    client.force_login(a.investigator)  # ran the search: cannot be second
    response = _verdict(client, base, match, reason="Looks like him.")
    assert response.status_code == 409 and "cannot be the second" in response.content.decode()
    assert _count(a, MatchReview) == 1
    client.force_login(a.admin)
    assert _verdict(client, base, match, reason="Same ear shape.").status_code == 302
    html = client.get(base).content.decode()
    assert "Confirmed" in html and "confirmations: 2 of 2" in html and "Same ear shape." in html
    response = client.post(f"{base}matches/{match.public_id}/evidence/", {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert a.owner.email in text and a.admin.email in text
    assert _count(a, Disclosure) == 1


@pytest.mark.parametrize("verdict, reason, status", [("confirmed", "", 400), ("rejected", " ", 400),
                                                     ("maybe", "x", 400)])
def test_a_bad_verdict_is_shown_on_its_match_and_nothing_is_stored(client, lead, verdict, reason, status):
    a, search, match, base = lead
    client.force_login(a.owner)
    response = _verdict(client, base, match, verdict=verdict, reason=reason)
    assert response.status_code == status and 'role="alert"' in response.content.decode()
    assert _count(a, MatchReview) == 0


def test_members_without_the_permission_and_other_tenants_cannot_review(client, lead, two_tenants):
    a, search, match, base = lead
    client.force_login(a.auditor)
    assert _verdict(client, base, match).status_code == 403
    assert "Give your verdict" not in client.get(base).content.decode()
    b = two_tenants.b
    reviewers_allow(tenant=b.tenant, users=[b.owner])
    client.force_login(b.owner)
    other = f"/t/retailer-b/searches/{search.public_id}/"
    assert _verdict(client, other, match).status_code == 404
    assert client.post(f"{other}matches/{match.public_id}/evidence/", {"format": "pdf"}).status_code == 404
    assert _count(a, MatchReview) == 0


def test_owners_and_auditors_see_who_looked_and_investigators_do_not(client, lead):
    a, search, match, base = lead
    client.force_login(a.investigator)
    assert "Who looked" not in client.get(base).content.decode()
    client.force_login(a.auditor)
    page = client.get(base)
    html = page.content.decode()
    assert "Who looked" in html and a.investigator.email in html
    with tenant_scope(a.tenant):
        assert SearchAccess.objects.filter(search=search, what="results", via="page").count() == 2


def _may_review(world, user):
    with tenant_scope(world.tenant):
        return Membership.objects.get(tenant=world.tenant, user=user).may_review


def _membership_id(world, user):
    with tenant_scope(world.tenant):
        return Membership.objects.get(tenant=world.tenant, user=user).public_id


def test_only_an_owner_gives_the_review_permission_and_never_to_an_auditor(client, two_tenants):
    a = two_tenants.a
    client.force_login(a.admin)
    client.post(f"/t/agency-a/admin/members/{_membership_id(a, a.investigator)}/review/", {"may_review": "on"})
    assert not _may_review(a, a.investigator)
    client.force_login(a.owner)
    assert "Reviews matches:" in client.get("/t/agency-a/admin/members/").content.decode()
    client.post(f"/t/agency-a/admin/members/{_membership_id(a, a.investigator)}/review/", {"may_review": "on"})
    client.post(f"/t/agency-a/admin/members/{_membership_id(a, a.auditor)}/review/", {"may_review": "on"})
    assert _may_review(a, a.investigator) and not _may_review(a, a.auditor)
    with tenant_scope(a.tenant):
        assert AuditEvent.objects.filter(action="member.review_permission").count() == 1
    client.post(f"/t/agency-a/admin/members/{_membership_id(a, a.investigator)}/review/", {})
    assert not _may_review(a, a.investigator)


def test_two_person_review_is_a_setting_except_for_law_enforcement(client, two_tenants):
    settings_form = {"probe_retention_days": 30, "case_reference_required": "on"}
    client.force_login(two_tenants.b.owner)  # retail
    assert client.post("/t/retailer-b/admin/settings/", settings_form).status_code == 302
    two_tenants.b.tenant.refresh_from_db()
    assert two_tenants.b.tenant.confirmations_required == 1
    client.force_login(two_tenants.a.owner)  # law enforcement: the box is disabled and stays on
    page = client.get("/t/agency-a/admin/settings/").content.decode()
    assert "Always on for law enforcement" in page
    client.post("/t/agency-a/admin/settings/", settings_form)
    two_tenants.a.tenant.refresh_from_db()
    assert two_tenants.a.tenant.confirmations_required == 2 and two_tenants.a.tenant.two_person_review


def test_the_pages_crops_are_recorded_as_views_of_their_search(client, lead, two_tenants):
    a, search, match, base = lead
    client.force_login(a.investigator)
    html = client.get(base).content.decode()
    with tenant_scope(a.tenant):
        face_uuid = SearchMatch.objects.select_related("face").get(pk=match.pk).face.uuid
    crop = f"/t/agency-a/faces/{face_uuid}/crop.jpg?search={search.public_id}"
    assert crop in html
    assert client.get(crop).status_code == 200
    assert client.get(f"/t/agency-a/faces/{face_uuid}/crop.jpg?search=not-a-uuid").status_code == 404
    with tenant_scope(a.tenant):
        assert SearchAccess.objects.filter(search=search, what="crop", via="page",
                                           actor_user=a.investigator).count() == 1
    client.force_login(a.auditor)
    rows = client.get(base).context["accesses"]
    assert {(r["what"], r["views"]) for r in rows} >= {("crop", 1), ("results", 1)}

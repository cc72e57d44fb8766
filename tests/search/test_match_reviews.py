"""The review rule (portal/search/reviews.py): two people confirm, the searcher never second, a
standing rejection blocks, verdicts append-only and audited."""

import pytest
from django.db import ProgrammingError, connection

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.gallery.models import Image
from portal.gallery.services import image_delete
from portal.search.models import MatchReview, SearchMatch
from portal.search.reviews import (NotAReviewer, ReviewInvalid, ReviewRefused, match_get, match_review_add,
                                   match_review_state, search_review_states)
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Membership, Tenant
from tests.builders import reviewers_allow, search_with_leads

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(two_tenants):
    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin, a.investigator, a.auditor])
    search = search_with_leads(world=a)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.filter(search=search).order_by("rank").first()
    return a, search, match


def _review(world, search, match, user, verdict="confirmed", reason="Same scar above the left eye."):
    with tenant_scope(world.tenant):
        membership = Membership.objects.select_related("user").get(tenant=world.tenant, user=user)
        return match_review_add(tenant=world.tenant, search=search, match=match, reviewer=membership, verdict=verdict,
                                reason=reason, actor=Actor.of_user(user))


def _state(world, search, match):
    with tenant_scope(world.tenant):
        world.tenant.refresh_from_db()
        return match_review_state(tenant=world.tenant, search=search, match=match)


def _stored(world):
    with tenant_scope(world.tenant):
        return MatchReview.objects.filter(tenant=world.tenant).count()


def test_two_different_people_confirm_a_match(reviewed):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    assert _state(a, search, match).state == "unconfirmed"
    _review(a, search, match, a.admin)
    state = _state(a, search, match)
    assert state.confirmed and len(state.confirmers) == 2


def test_the_searcher_may_confirm_first_but_never_second(reviewed):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    with pytest.raises(ReviewRefused) as refused:
        _review(a, search, match, a.investigator)
    assert refused.value.code == "searcher_second" and refused.value.status == 409
    assert _stored(a) == 1
    with tenant_scope(a.tenant):
        other = SearchMatch.objects.filter(search=search).order_by("rank")[1]
    _review(a, search, other, a.investigator)
    _review(a, search, other, a.owner)
    assert _state(a, search, other).confirmed


def test_the_same_confirmation_twice_is_refused(reviewed):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    with pytest.raises(ReviewRefused) as refused:
        _review(a, search, match, a.owner, reason="Again.")
    assert refused.value.code == "already_confirmed"
    assert _stored(a) == 1


@pytest.mark.parametrize("verdict", ["confirmed", "rejected"])
def test_confirming_or_rejecting_needs_a_reason(reviewed, verdict):
    a, search, match = reviewed
    with pytest.raises(ReviewInvalid) as invalid:
        _review(a, search, match, a.owner, verdict=verdict, reason="   ")
    assert invalid.value.field == "reason" and invalid.value.status == 400
    assert _stored(a) == 0


def test_inconclusive_needs_no_reason_and_an_unknown_verdict_is_refused(reviewed):
    a, search, match = reviewed
    _review(a, search, match, a.owner, verdict="inconclusive", reason="")
    with pytest.raises(ReviewInvalid):
        _review(a, search, match, a.admin, verdict="probably")
    assert _stored(a) == 1


def test_a_standing_rejection_blocks_until_its_reviewer_settles_it(reviewed):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    _review(a, search, match, a.admin, verdict="rejected", reason="Different ear shape.")
    assert _state(a, search, match).state == "rejected"
    reviewers_allow(tenant=a.tenant, users=[a.auditor])
    _review(a, search, match, a.investigator, verdict="inconclusive", reason="")
    assert _state(a, search, match).state == "rejected"
    _review(a, search, match, a.admin, reason="Higher-resolution still: same ear.")
    assert _state(a, search, match).state == "inconclusive"  # the investigator's verdict still stands
    _review(a, search, match, a.investigator, verdict="rejected", reason="On reflection, no.")
    _review(a, search, match, a.investigator, verdict="inconclusive", reason="")
    assert _state(a, search, match).state == "inconclusive"
    verdicts = _state(a, search, match).verdicts
    assert [v.verdict for v in verdicts][:2] == ["confirmed", "rejected"]  # older verdicts stay on record


def test_only_members_with_the_review_permission_review(two_tenants):
    a = two_tenants.a
    search = search_with_leads(world=a)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.filter(search=search).first()
    with pytest.raises(NotAReviewer):
        _review(a, search, match, a.owner)
    reviewers_allow(tenant=a.tenant, users=[a.auditor])
    with pytest.raises(NotAReviewer):  # auditors check the work, they do not do it
        _review(a, search, match, a.auditor)
    assert _stored(a) == 0


def test_another_tenants_match_and_a_deleted_faces_match_are_not_found(reviewed, two_tenants):
    a, search, match = reviewed
    b = two_tenants.b
    with tenant_scope(b.tenant), pytest.raises(SearchMatch.DoesNotExist):
        match_get(tenant=b.tenant, search=search, public_id=match.public_id)
    _review(a, search, match, a.owner)
    with tenant_scope(a.tenant):
        image = Image.objects.get(faces__matches=match)
        image_delete(tenant=a.tenant, image=image, actor=Actor.system("test"))
        with pytest.raises(SearchMatch.DoesNotExist):
            match_get(tenant=a.tenant, search=search, public_id=match.public_id)
        # The verdicts went with the match (the database's cascade, as the owner).
        assert not MatchReview.objects.filter(match_id=match.pk).exists()


def test_verdicts_are_audited_with_their_chain_position(reviewed):
    a, search, match = reviewed
    review = _review(a, search, match, a.owner)
    with tenant_scope(a.tenant):
        event = AuditEvent.objects.get(action="match.review", target_id=str(match.public_id))
    assert event.position == review.audit_position
    assert event.details["verdict"] == "confirmed" and event.details["state"] == "unconfirmed"
    assert "reason" not in event.details and len(event.details["reason_sha256"]) == 64


@pytest.mark.parametrize("statement", ["UPDATE search_matchreview SET verdict = 'rejected'",
                                       "DELETE FROM search_matchreview"])
def test_verdicts_cannot_be_changed_or_deleted_by_the_application(reviewed, statement):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    with tenant_scope(a.tenant), pytest.raises(ProgrammingError, match="permission denied"):
        with connection.cursor() as cursor:
            cursor.execute("SAVEPOINT attempt")
            try:
                cursor.execute(statement)
            finally:
                cursor.execute("ROLLBACK TO SAVEPOINT attempt")
    assert _stored(a) == 1


def test_review_states_of_a_result_page_take_one_query(reviewed, django_assert_num_queries):
    a, search, match = reviewed
    _review(a, search, match, a.owner)
    with tenant_scope(a.tenant):
        matches = list(SearchMatch.objects.filter(search=search))
        with django_assert_num_queries(1):
            states = search_review_states(tenant=a.tenant, search=search, matches=matches)
    assert states[match.pk].state == "unconfirmed" and len(states) == len(matches)


def test_one_confirmer_suffices_where_two_person_review_is_off_but_never_the_searcher_alone(two_tenants):
    b = two_tenants.b  # retail
    with dangerously_unscoped(reason="test settings"):
        Tenant.objects.filter(pk=b.tenant.pk).update(two_person_review=False)
    b.tenant.refresh_from_db()
    reviewers_allow(tenant=b.tenant, users=[b.owner, b.investigator])
    search = search_with_leads(world=b)
    with tenant_scope(b.tenant):
        first, second = SearchMatch.objects.filter(search=search).order_by("rank")[:2]
    _review(b, search, first, b.owner)
    assert _state(b, search, first).confirmed
    _review(b, search, second, b.investigator)  # the searcher
    assert _state(b, search, second).state == "unconfirmed"


def test_law_enforcement_always_needs_two_people(two_tenants):
    a = two_tenants.a
    with dangerously_unscoped(reason="test settings"):
        Tenant.objects.filter(pk=a.tenant.pk).update(two_person_review=False)
    a.tenant.refresh_from_db()
    assert a.tenant.confirmations_required == 2


def test_the_searcher_behind_an_api_key_is_the_person_who_made_the_key(reviewed):
    from portal.api.services import api_key_create
    from portal.search.models import Search

    a, search, match = reviewed
    key, _raw = api_key_create(tenant=a.tenant, name="case system", scopes=["search"],
                               actor=Actor.of_user(a.investigator))
    with dangerously_unscoped(reason="test: the search was run by the key"):
        Search.objects.filter(pk=search.pk).update(actor_user=None, actor_api_key_id=key.pk)
        search.refresh_from_db()
    _review(a, search, match, a.owner)
    with pytest.raises(ReviewRefused) as refused:
        _review(a, search, match, a.investigator)
    assert refused.value.code == "searcher_second"


@pytest.mark.django_db(transaction=True)
def test_not_even_the_table_owner_can_change_a_verdict(two_tenants):
    from django.db import connection as django_connection

    from portal.runtime.database import owner_psycopg_connect

    a = two_tenants.a
    reviewers_allow(tenant=a.tenant, users=[a.owner])
    search = search_with_leads(world=a, leads=1)
    with tenant_scope(a.tenant):
        match = SearchMatch.objects.get(search=search)
    _review(a, search, match, a.owner)
    dbname = django_connection.settings_dict["NAME"]
    with owner_psycopg_connect(dbname=dbname, autocommit=True) as owner, owner.cursor() as cursor:
        cursor.execute("SELECT set_config('portal.scope', 'all', false)")  # the owner may, for maintenance
        with pytest.raises(Exception, match="append-only"):
            cursor.execute("UPDATE search_matchreview SET verdict = 'confirmed', reason = 'rewritten'")
        cursor.execute("SELECT verdict, reason FROM search_matchreview")
        assert cursor.fetchall() == [("confirmed", "Same scar above the left eye.")]

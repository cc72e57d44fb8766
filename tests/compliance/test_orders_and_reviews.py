"""Orders still delete everything they cover when matches carry verdicts (append-only for the
application, cascaded by the database as the owner): verification passes, the disclosure record
that a face left the portal stays, and the other matches' verdicts are untouched."""

import pytest

from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.search.models import Disclosure, MatchReview, SearchAccess, SearchMatch
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import order_fields

pytestmark = pytest.mark.django_db

Kind, Status = RegulatoryOrder.Kind, RegulatoryOrder.Status


def _records(world, *, region):
    """A verdict on each match of the world's search, a disclosure of one in `region`, and a view."""
    tenant = world.tenant
    with tenant_scope(tenant):
        matches = list(SearchMatch.objects.filter(tenant=tenant).select_related("search", "face"))
        for match in matches:
            MatchReview.objects.create(tenant=tenant, search=match.search, match=match, reviewer=world.owner,
                                       reviewer_label=world.owner.email, verdict="inconclusive", audit_position=1)
        covered = next(m for m in matches if (m.face.region or "").startswith(region))
        Disclosure.objects.create(tenant=tenant, search=covered.search, match_public_ids=[covered.public_id],
                                  face_uuids=[covered.face.uuid], format="pdf", actor_label="x", audit_position=1)
        SearchAccess.objects.create(tenant=tenant, search=covered.search, what="results", via="page", actor_label="x")
    return covered, len(matches)


def test_a_regional_order_deletes_covered_matches_with_their_verdicts_and_keeps_the_disclosure(world_gallery,
                                                                                                two_tenants):
    a = two_tenants.a
    covered, verdicts = _records(a, region="FR")
    order = order_enforce(order=order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                                               actor=Actor.system("test")))
    assert order.status == Status.VERIFIED and order.verification["passed"]
    with tenant_scope(a.tenant):
        assert not SearchMatch.objects.filter(pk=covered.pk).exists()
        assert not MatchReview.objects.filter(match_id=covered.pk).exists()
        remaining = MatchReview.objects.count()
        assert 0 < remaining < verdicts
        assert remaining == SearchMatch.objects.filter(tenant=a.tenant).count()
        assert Disclosure.objects.get().face_uuids == [covered.face.uuid]


def test_offboarding_removes_the_tenants_review_records_with_its_searches(world_gallery, two_tenants):
    b = two_tenants.b
    _records(b, region="FR")
    order = order_enforce(order=order_activate(
        order=order_create(**order_fields(kind=Kind.OFFBOARDING, offboard_tenants=[b.tenant])),
        actor=Actor.system("test")))
    assert order.status == Status.VERIFIED
    with dangerously_unscoped(reason="test"):
        for model in (MatchReview, Disclosure, SearchAccess):
            assert not model.objects.filter(tenant=b.tenant).exists()

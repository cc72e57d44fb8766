"""Recipients are told (GDPR Art. 19), on the real face engine and the pictures in ../shared/faces:
each face shown to a tenant is recorded (page, API, evidence export); erasing or restricting it
by any path (an order's activation and enforcement, the gallery owner's erasure, offboarding)
leaves a recall notice to each tenant that received it, naming the searches and case references,
with a `disclosure.recalled` webhook queued; a member acknowledges; the certificate counts both."""

import uuid

import pytest
from rest_framework.test import APIClient

from portal.api.services import api_key_create
from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_delete, image_ingest
from portal.search.models import FaceDisclosure, RecallNotice
from portal.search.services import search_run
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.services import webhook_endpoint_create
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import AUTHORISED, order_fields

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
EVENTS = ["disclosure.recalled", "order.activated", "search.completed"]


def _ingest(tenant, faces_dir, name):
    return image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=SYSTEM,
                        legal_basis=LegalBasis.LAW_ENFORCEMENT).image


def _notices(tenant=None):
    with dangerously_unscoped(reason="test"):
        rows = RecallNotice.objects.order_by("id")
        return list(rows.filter(tenant=tenant) if tenant else rows)


def _deliveries(tenant, event_type):
    with tenant_scope(tenant):
        return [d.payload for d in WebhookDelivery.objects.filter(event_type=event_type).order_by("id")]


@pytest.fixture
def seen(two_tenants, faces_dir, client):
    """Obama in the platform index and in A's and B's galleries; A (entitled to the platform index)
    searched him under case C-77 and looked at the results page; B searched its own gallery by API."""
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    for tenant in (a, b):
        webhook_endpoint_create(tenant=tenant, url="https://127.0.0.1:9/hook", events=EVENTS, actor=SYSTEM)
    platform_obama = _ingest(None, faces_dir, "obama_2.jpg")
    a_obama = _ingest(a, faces_dir, "obama_3.jpg")
    b_obama = _ingest(b, faces_dir, "obama_small.jpg")
    _ingest(None, faces_dir, "biden_2.jpg")
    search = search_run(tenant=a, actor=Actor.of_user(two_tenants.a.investigator),
                        probe=(faces_dir / "obama_1.jpg").read_bytes(), case_reference="C-77", purpose="robbery",
                        authorisation=AUTHORISED)
    client.force_login(two_tenants.a.investigator)
    assert client.get(f"/t/agency-a/searches/{search.public_id}/").status_code == 200
    _, raw_key = api_key_create(tenant=b, name="case system", scopes=["search"], actor=SYSTEM)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    answer = api.post("/api/v1/searches", {"picture": (faces_dir / "obama_1.jpg").open("rb"),
                                           "case_reference": "B-9", "purpose": "shoplifting"}, format="multipart")
    assert answer.status_code == 201, answer.content
    return a, b, search, {"platform": platform_obama, "a": a_obama, "b": b_obama}, answer.json()["id"]


def _disclosures() -> set[tuple]:
    with dangerously_unscoped(reason="test"):
        return {(d.tenant_id, str(d.search_public_id), d.case_reference, str(d.image_public_id), d.via)
                for d in FaceDisclosure.objects.all()}


def test_every_face_shown_is_recorded_once_per_search_and_way(seen, client):
    a, b, search, images, b_search_id = seen
    rows = _disclosures()
    with dangerously_unscoped(reason="test"):
        count = FaceDisclosure.objects.count()
    client.get(f"/t/agency-a/searches/{search.public_id}/")  # a second look adds nothing
    with dangerously_unscoped(reason="test"):
        assert FaceDisclosure.objects.count() == count == len(rows)
    assert (a.pk, str(search.public_id), "C-77", str(images["a"].public_id), "page") in rows
    assert (a.pk, str(search.public_id), "C-77", str(images["platform"].public_id), "page") in rows
    assert (b.pk, b_search_id, "B-9", str(images["b"].public_id), "api") in rows
    # B is not entitled to the platform index: it never received the platform's faces.
    assert not any(r[0] == b.pk and r[3] == str(images["platform"].public_id) for r in rows)
    assert _deliveries(a, "search.completed")[0]["data"]["search"]["case_reference"] == "C-77"


def test_an_order_restricts_then_erases_and_each_recipient_is_told_and_the_certificate_counts(seen, client,
                                                                                               two_tenants, faces_dir):
    a, b, search, images, b_search_id = seen
    order = order_activate(order=order_create(**order_fields(
        kind=RegulatoryOrder.Kind.SUBJECT, reference="ORD-OBAMA",
        reference_pictures=[(faces_dir / "obama_4.jpg").read_bytes()])), actor=SYSTEM)
    restricted_a, restricted_b = _notices(a), _notices(b)
    assert [(n.action, n.cause, n.cause_reference, n.order_id) for n in restricted_a] == [
        ("restricted", "order", "CNIL ORD-OBAMA", order.pk)]
    assert restricted_a[0].searches == [{"search": str(search.public_id), "case_reference": "C-77"}]
    assert len(restricted_a[0].face_uuids) == 2  # A's own picture of him and the platform's
    assert [(n.action, n.searches) for n in restricted_b] == [
        ("restricted", [{"search": b_search_id, "case_reference": "B-9"}])]
    assert [p["data"]["order"]["reference"] for p in _deliveries(a, "order.activated")] == ["ORD-OBAMA"]
    assert [p["data"]["order"]["reference"] for p in _deliveries(b, "order.activated")] == ["ORD-OBAMA"]

    order = order_enforce(order=order, batch_size=1)  # one picture per batch: the notice grows, not multiplies
    assert order.status == RegulatoryOrder.Status.VERIFIED
    erased_a = [n for n in _notices(a) if n.action == "erased"]
    assert len(erased_a) == 1 and len(erased_a[0].face_uuids) == 2
    assert erased_a[0].searches == [{"search": str(search.public_id), "case_reference": "C-77"}]
    recalled = _deliveries(a, "disclosure.recalled")
    assert {p["data"]["notice"]["action"] for p in recalled} == {"restricted", "erased"}
    assert recalled[-1]["data"]["notice"]["searches"] == [{"search": str(search.public_id), "case_reference": "C-77"}]
    assert order.certificate["recall_notices"] == {"sent": 4, "acknowledged": 0, "tenants": 2, "erased": 2,
                                                   "restricted": 2}

    # A member acknowledges, in the portal; the operator's certificate page shows it.
    client.force_login(two_tenants.a.auditor)
    page = client.get("/t/agency-a/notices/").content.decode()
    assert "C-77" in page and "CNIL ORD-OBAMA" in page and 'aria-label="2 to acknowledge"' in page
    response = client.post(f"/t/agency-a/notices/{erased_a[0].public_id}/acknowledge/", follow=True)
    assert "Notice acknowledged" in response.content.decode()
    with tenant_scope(a):
        assert AuditEvent.objects.filter(action="recall.acknowledge", target_id=str(erased_a[0].public_id)).exists()
    assert two_tenants.a.auditor.email in _notices(a)[-1].acknowledged_by_label
    again = client.post(f"/t/agency-a/notices/{erased_a[0].public_id}/acknowledge/", follow=True)
    assert "already acknowledged" in again.content.decode()


def test_another_tenant_cannot_see_or_acknowledge_a_notice_and_gets_the_same_404(seen, client, two_tenants):
    a, b, search, images, _ = seen
    image_delete(tenant=a, image=images["a"], actor=SYSTEM)
    (notice,) = _notices(a)
    client.force_login(two_tenants.b.owner)
    assert "C-77" not in client.get("/t/retailer-b/notices/").content.decode()
    foreign = client.post(f"/t/retailer-b/notices/{notice.public_id}/acknowledge/")
    absent = client.post(f"/t/retailer-b/notices/{uuid.uuid4()}/acknowledge/")
    assert foreign.status_code == absent.status_code == 404
    assert _notices(a)[0].acknowledged_at is None


def test_the_gallery_owner_erasing_a_picture_tells_the_tenant_which_searches_showed_it(seen):
    a, b, search, images, _ = seen
    image_delete(tenant=a, image=images["a"], actor=SYSTEM)
    (notice,) = _notices(a)
    assert (notice.action, notice.cause, notice.order_id, len(notice.face_uuids)) == ("erased", "erasure", None, 1)
    assert notice.searches == [{"search": str(search.public_id), "case_reference": "C-77"}]
    assert _notices(b) == []
    (payload,) = _deliveries(a, "disclosure.recalled")
    assert payload["data"]["notice"]["id"] == str(notice.public_id)
    with tenant_scope(a):
        assert AuditEvent.objects.filter(action="recall.notice", target_id=str(notice.public_id)).exists()


def test_the_operator_erasing_a_platform_picture_tells_the_tenant_that_saw_it(seen):
    a, b, search, images, _ = seen
    image_delete(tenant=None, image=images["platform"], actor=SYSTEM)
    assert [(n.action, n.cause) for n in _notices(a)] == [("erased", "erasure")]
    assert _notices(b) == []


def test_a_deletion_that_rolls_back_leaves_no_notice(seen):
    from django.db import transaction

    a, b, search, images, _ = seen
    with pytest.raises(RuntimeError), transaction.atomic():
        image_delete(tenant=a, image=images["a"], actor=SYSTEM)
        raise RuntimeError("the deletion fails later in its transaction")
    assert _notices() == []


def test_offboarding_a_tenant_erases_its_disclosures_and_tells_nobody_about_its_own_gallery(seen):
    a, b, search, images, _ = seen
    order = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.OFFBOARDING,
                                                             offboard_tenants=[b])), actor=SYSTEM)
    order = order_enforce(order=order)
    assert order.status == RegulatoryOrder.Status.VERIFIED
    assert _notices() == [] and order.certificate["recall_notices"]["sent"] == 0
    with dangerously_unscoped(reason="test"):
        assert not FaceDisclosure.objects.filter(tenant=b).exists()
        assert FaceDisclosure.objects.filter(tenant=a).exists()


def test_a_restriction_at_a_persons_request_is_told_as_one(seen, client, two_tenants):
    """A tenant restricting faces on a data subject's request (portal/rights/decisions.py) sends
    the same signal; the recipient's notice says why, not that an order is being carried out."""
    from portal.gallery.models import Face
    from portal.gallery.signals import faces_restricted

    a, b, search, images, b_search_id = seen
    with tenant_scope(a):
        face_uuids = [str(u) for u in Face.objects.filter(image=images["a"]).values_list("uuid", flat=True)]
        faces_restricted.send(sender=Face, face_uuids=face_uuids, cause={"kind": "request", "reference": "DSR-1"})
    [notice] = _notices(a)
    assert (notice.action, notice.cause) == ("restricted", "request")
    client.force_login(two_tenants.a.auditor)
    page = client.get("/t/agency-a/notices/").content.decode()
    assert "request (GDPR Art. 18): they are withheld from every search" in page
    assert "while an order is carried out" not in page
    french = client.get("/t/agency-a/notices/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "article 18 du RGPD" in french

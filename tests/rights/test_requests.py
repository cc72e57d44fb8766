"""Data subjects' requests end to end on the real face engine, the real database and a real SMTP
server: receipt, e-mail confirmation, verification, forwarding, decisions by each controller."""

from datetime import date, datetime, timezone as tz

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.storage import default_storage

from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.faces.errors import NoFaceFound
from portal.gallery.gates import IngestRefused
from portal.gallery.models import Face, Image
from portal.rights.decisions import forwarded_decide, request_extend, request_platform_decide
from portal.rights.models import DataSubjectRequest, ForwardedRequest, RequestFace
from portal.rights.selectors import access_answer_inputs, inbox_list
from portal.rights.services import (RequestInvalid, RequestNotFound, RequestStateError, deadline_of,
                                    request_by_status_token, request_reject, request_verify)
from portal.webhooks.models import WebhookDelivery
from portal.webhooks.services import webhook_endpoint_create
from tenants.context import dangerously_unscoped, tenant_scope
from tests.rights.conftest import SYSTEM, blank_picture, confirm_from, ingest, submit

pytestmark = pytest.mark.django_db


def _requests():
    with dangerously_unscoped(reason="test"):
        return list(DataSubjectRequest.objects.all()), list(OptOut.objects.all()), list(RequestFace.objects.all())


def _forwarded():
    with dangerously_unscoped(reason="test"):
        return {row.tenant_id: row for row in ForwardedRequest.objects.all()}


def _held(images):
    with dangerously_unscoped(reason="test"):
        left = set(Image.objects.values_list("pk", flat=True))
    return {img.pk in left for img in images} == {True}


def test_the_deadline_is_one_calendar_month_after_receipt():
    assert deadline_of(datetime(2027, 1, 31, 10, tzinfo=tz.utc)) == date(2027, 2, 28)
    assert deadline_of(datetime(2027, 3, 15, 10, tzinfo=tz.utc)) == date(2027, 4, 15)


@pytest.mark.parametrize("picture, error, message", [
    (None, NoFaceFound, "No face"),
    ("group_kit_rose.jpg", RequestInvalid, "2 faces"),
])
def test_a_request_picture_without_exactly_one_face_is_refused_and_nothing_is_stored(
        faces_dir, smtp_server, picture, error, message, tmp_path):
    data = blank_picture() if picture is None else (faces_dir / picture).read_bytes()
    from portal.rights.services import request_submit
    with pytest.raises(error, match=message) as raised:
        request_submit(kind="erasure", email="me@example.test", picture=data,
                       document=(faces_dir / "obama_4.jpg").read_bytes(), consent=True, actor=SYSTEM,
                       confirm_url=str, status_url=str)
    assert raised.value.field == "picture"
    assert _requests() == ([], [], [])
    assert smtp_server.messages == []


def test_a_document_without_a_face_is_refused(faces_dir, smtp_server):
    from portal.rights.services import request_submit
    with pytest.raises(NoFaceFound) as raised:
        request_submit(kind="access", email="me@example.test", picture=(faces_dir / "obama_1.jpg").read_bytes(),
                       document=blank_picture(), consent=True, actor=SYSTEM, confirm_url=str, status_url=str)
    assert raised.value.field == "document"
    assert _requests() == ([], [], [])


def test_receipt_suppresses_the_platform_index_only_and_nothing_is_searched_before_confirmation(
        rights_gallery, faces_dir, smtp_server, user_factory, commit):
    a, b, c, images = rights_gallery
    with commit():
        submitted = submit(faces_dir)
    request = submitted.request
    assert request.status == DataSubjectRequest.Status.AWAITING_EMAIL
    assert request.deadline == deadline_of(request.received_at)
    assert 0.9 < request.document_similarity <= 1.0  # two pictures of the same person
    [message] = smtp_server.wait_for(1)
    assert message.envelope_to == ["me@example.test"] and request.reference in message.subject
    # Suppressed from the platform index at once; the tenants' galleries untouched.
    with pytest.raises(IngestRefused):
        ingest(None, faces_dir, "obama_partial_face.jpg")
    ingest(a, faces_dir, "obama_partial_face.jpg")
    # Unverified e-mail: the operator cannot verify, nothing is searched or forwarded.
    operator = Actor.of_user(user_factory(is_staff=True))
    with pytest.raises(RequestStateError):
        request_verify(request=request, actor=operator)
    assert _forwarded() == {} and _requests()[0][0].platform_faces is None
    confirm_from(message)
    request = request_verify(request=request, actor=operator)
    assert request.status == DataSubjectRequest.Status.IN_PROGRESS
    forwarded = _forwarded()
    assert set(forwarded) == {a.pk, b.pk, c.pk}
    assert len(forwarded[a.pk].face_uuids) == 2  # obama_2 and the partial face ingested since
    assert request.platform_faces == 1
    assert all(row.deadline == request.deadline and row.status == "pending" for row in forwarded.values())


def test_the_identity_document_is_deleted_once_the_operator_decided(rights_gallery, faces_dir, smtp_server,
                                                                    user_factory, commit):
    operator = Actor.of_user(user_factory(is_staff=True))
    with commit():
        kept, refused = submit(faces_dir).request, submit(faces_dir, email="other@example.test").request
    files = [kept.request_face_crop, kept.document_picture, kept.document_face_crop]
    assert all(default_storage.exists(name) for name in files)
    for message in smtp_server.wait_for(2):
        confirm_from(message)
    kept = request_verify(request=kept, actor=operator)
    assert not any(default_storage.exists(name) for name in files)
    assert (kept.document_picture, kept.document_face_crop) == ("", "")
    files = [refused.request_face_crop, refused.document_picture, refused.document_face_crop]
    with commit():
        refused = request_reject(request=refused, actor=operator, reason="The document shows someone else.")
    assert not any(default_storage.exists(name) for name in files)
    assert refused.status == DataSubjectRequest.Status.REJECTED
    with dangerously_unscoped(reason="test"):
        assert not RequestFace.objects.filter(request=refused).exists()
        assert OptOut.objects.get(pk=refused.opt_out_id).status == OptOut.Status.REJECTED
    assert "someone else" in smtp_server.wait_for(3)[-1].body


def test_each_controller_decides_for_its_own_gallery(rights_gallery, two_tenants, faces_dir, smtp_server,
                                                     user_factory, commit):
    a, b, c, images = rights_gallery
    endpoint, _secret = webhook_endpoint_create(tenant=a, url="https://127.0.0.1:9/hook",
                                                events=["request.forwarded"], actor=SYSTEM)
    operator = Actor.of_user(user_factory(is_staff=True))
    with commit():
        request = submit(faces_dir).request
    confirm_from(smtp_server.wait_for(1)[0])
    request = request_verify(request=request, actor=operator)
    with tenant_scope(a):
        [delivery] = WebhookDelivery.objects.filter(tenant=a, event_type="request.forwarded")
        assert delivery.payload["data"]["request"]["reference"] == request.reference
    forwarded = _forwarded()
    obama = {img.tenant_id: img for img in images["obama"]}

    # Tenant a (law enforcement) refuses with its legal ground; its custody picture stays.
    for bad in ({"ground": "", "reasoning": "x"}, {"ground": "law_enforcement", "reasoning": " "}):
        with pytest.raises(RequestInvalid):
            forwarded_decide(tenant=a, public_id=forwarded[a.pk].public_id, actor=SYSTEM, comply=False, **bad)
    row, order = forwarded_decide(tenant=a, public_id=forwarded[a.pk].public_id, actor=Actor.of_user(
        two_tenants.a.owner), comply=False, ground="law_enforcement", reasoning="Custody record, case 2026/114.")
    assert (row.status, row.ground, order) == ("refused", "law_enforcement", None)
    with pytest.raises(RequestStateError):
        forwarded_decide(tenant=a, public_id=row.public_id, actor=SYSTEM, comply=True)

    # Tenant b complies: a subject order limited to b's gallery erases its picture only.
    row, order = forwarded_decide(tenant=b, public_id=forwarded[b.pk].public_id,
                                  actor=Actor.of_user(two_tenants.b.owner), comply=True)
    assert (order.scope_all, order.scope_tenant_ids, order.scope_platform_index) == (False, [b.pk], False)
    assert row.order_id == order.pk and order.status == RegulatoryOrder.Status.ACTIVE
    order_enforce(order=order)
    assert not _held([obama[b.pk]]) and _held([obama[a.pk], obama[c.pk], obama[None]])

    # The operator complies for the platform index: erased there only.
    request, order = request_platform_decide(request=request, actor=operator, comply=True)
    assert (order.scope_all, order.scope_tenant_ids, order.scope_platform_index) == (False, [], True)
    order_enforce(order=order)
    assert not _held([obama[None]]) and _held([obama[a.pk], obama[c.pk]])
    assert request.status == DataSubjectRequest.Status.IN_PROGRESS  # c has not decided

    with commit():
        forwarded_decide(tenant=c, public_id=forwarded[c.pk].public_id, actor=SYSTEM, comply=False,
                         ground="legal_claims", reasoning="Evidence in pending proceedings.")
    with dangerously_unscoped(reason="test"):
        request.refresh_from_db()
    assert request.status == DataSubjectRequest.Status.ANSWERED
    assert "answered" in smtp_server.wait_for(2)[-1].subject


def test_a_tenant_acting_on_another_tenants_forwarded_request_is_not_found_and_nothing_changes(
        rights_gallery, faces_dir, smtp_server, user_factory, commit):
    a, b, c, images = rights_gallery
    with commit():
        request = submit(faces_dir).request
    confirm_from(smtp_server.wait_for(1)[0])
    request_verify(request=request, actor=Actor.of_user(user_factory(is_staff=True)))
    theirs = _forwarded()[a.pk]
    for comply in (True, False):
        with pytest.raises(RequestNotFound) as raised:
            forwarded_decide(tenant=b, public_id=theirs.public_id, actor=SYSTEM, comply=comply,
                             ground="other", reasoning="not mine")
        assert raised.value.status == 404
    assert _forwarded()[a.pk].status == "pending" and _held(images["obama"])
    with dangerously_unscoped(reason="test"):
        assert not RegulatoryOrder.objects.exists()
    assert [row["row"].public_id for row in inbox_list(tenant=b)] == [_forwarded()[b.pk].public_id]


def test_a_forged_status_link_is_not_found(rights_gallery, faces_dir, smtp_server, commit):
    with commit():
        submitted = submit(faces_dir)
    assert request_by_status_token(token=submitted.status_token).pk == submitted.request.pk
    token = submitted.status_token
    one_character_off = token[:-1] + ("B" if token.endswith("A") else "A")  # never the token itself
    for forged in ("x" * 43, one_character_off, str(submitted.request.public_id)):
        with pytest.raises(RequestNotFound):
            request_by_status_token(token=forged)


def test_restriction_withholds_without_deleting_and_access_records_the_release(
        rights_gallery, faces_dir, smtp_server, user_factory, commit):
    a, b, c, images = rights_gallery
    operator = Actor.of_user(user_factory(is_staff=True))
    with commit():
        restriction = submit(faces_dir, kind="restriction").request
    with commit():
        access = submit(faces_dir, kind="access", email="asks@example.test").request
    assert access.opt_out_id is None and restriction.opt_out_id is not None  # access suppresses nothing
    for message in smtp_server.wait_for(2):
        confirm_from(message)
    request_verify(request=restriction, actor=operator)
    row = next(r for r in _forwarded().values() if r.tenant_id == b.pk)
    row, order = forwarded_decide(tenant=b, public_id=row.public_id, actor=SYSTEM, comply=True)
    assert order is None and row.faces_restricted == 1
    with dangerously_unscoped(reason="test"):
        assert Face.objects.filter(image__tenant=b, uuid__in=row.face_uuids, withheld=True).count() == 1
    assert _held(images["obama"])  # withheld, not deleted

    assert access_answer_inputs(request=access)["embeddings"] == []  # nothing before verification
    request_verify(request=access, actor=operator)
    with dangerously_unscoped(reason="test"):
        rows = {r.tenant_id: r for r in ForwardedRequest.objects.filter(request_id=access.pk)}
    forwarded_decide(tenant=a, public_id=rows[a.pk].public_id, actor=SYSTEM, comply=True)
    forwarded_decide(tenant=c, public_id=rows[c.pk].public_id, actor=SYSTEM, comply=False,
                     ground="rights_of_others", reasoning="The picture shows other people.")
    inputs = access_answer_inputs(request=access)
    assert inputs["released_tenant_ids"] == [a.pk] and len(inputs["embeddings"]) == 1
    assert inputs["threshold"] == access.match_threshold and not inputs["platform_released"]


def test_the_extension_is_told_to_the_requester_and_limited_to_two_months(rights_gallery, faces_dir, smtp_server,
                                                                          user_factory, commit):
    a, b, c, images = rights_gallery
    operator = Actor.of_user(user_factory(is_staff=True))
    with commit():
        request = submit(faces_dir).request
    confirm_from(smtp_server.wait_for(1)[0])
    request = request_verify(request=request, actor=operator)
    for months, reason in ((3, "long"), (0, "none"), (2, "  ")):
        with pytest.raises(RequestInvalid):
            request_extend(request=request, actor=operator, months=months, reason=reason)
    with commit():
        request = request_extend(request=request, actor=operator, months=2,
                                 reason="Twelve galleries hold pictures of you; each must decide.")
    assert request.extended_deadline == request.deadline + relativedelta(months=2)
    message = smtp_server.wait_for(2)[-1]
    assert message.envelope_to == ["me@example.test"]
    assert "Twelve galleries" in message.body and request.extended_deadline.isoformat() in message.body
    assert {row.deadline for row in _forwarded().values()} == {request.extended_deadline}
    with pytest.raises(RequestStateError):
        request_extend(request=request, actor=operator, months=1, reason="again")

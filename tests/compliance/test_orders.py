"""Regulatory orders end to end: preview, activation (nothing visible at once), enforcement
(nothing left, everything else untouched), resumption after a crash, verification, certificate."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from portal.compliance import coverage
from portal.audit.services import Actor, audit_chain_verify, audit_head
from portal.audit.models import AuditEvent
from portal.compliance.models import OrderFileDeletion, RegulatoryOrder
from portal.compliance.enforcement import order_enforce
from portal.compliance.errors import OrderInvalid, OrderStateError
from portal.compliance.orders import order_activate, order_create
from portal.gallery.gates import IngestRefused, ingest_gates_check
from portal.gallery.models import Face, Image
from portal.search.models import Search, SearchMatch
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant
from tests.builders import files_present, order_fields, remaining_face_ids, unit_vector

pytestmark = pytest.mark.django_db

Kind, Status = RegulatoryOrder.Kind, RegulatoryOrder.Status


def _fr(gallery):
    return gallery.ids(region="FR")


def _visible_to(tenant, embedding, k=50):
    with tenant_scope(tenant):
        return {n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=embedding, k=k,
                                                        include_platform_index=tenant.may_search_platform_index)}


def test_preview_counts_per_gallery(world_gallery):
    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=["fr"]))
    with dangerously_unscoped(reason="test"):
        counts = coverage.coverage_count(order=order)
    tenant_ids = [t.pk if t else None for t in world_gallery.tenants]
    assert set(counts) == set(tenant_ids)
    for tenant_id in tenant_ids:
        # FR, FR from social.example, FR-75C: three pictures of one face each, per gallery.
        assert counts[tenant_id]["images"] == 3 and counts[tenant_id]["faces"] == 3
        assert counts[tenant_id]["probes"] == 0
    assert order.status == Status.DRAFT


def test_regional_order_hides_at_once_then_deletes_everything_covered_and_nothing_else(world_gallery):
    gallery = world_gallery
    fr = _fr(gallery)
    others = set(gallery.faces) - fr
    fr_files = {name for name, image_id in gallery.files.items() if gallery.images[image_id][1] in ("FR", "FR-75C")}
    assert fr and others and fr_files <= files_present(gallery)
    with dangerously_unscoped(reason="test"):
        matches_before = SearchMatch.objects.count()
        fr_matches = SearchMatch.objects.filter(face_id__in=fr).count()

    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"]))
    order = order_activate(order=order, actor=Actor.system("test"))
    assert order.status == Status.ACTIVE

    # Straight after activation, no FR face comes back from any tenant's search, whatever the probe.
    for tenant in gallery.tenants[:3]:
        tenant.refresh_from_db()
        for face_id in fr:
            assert not (_visible_to(tenant, gallery.faces[face_id][2]) & fr)
    assert order.covered == {"images": 12, "faces": 12, "crops": 12, "probes": 0, "matches": fr_matches}

    # Ingest refuses FR pictures for every tenant and the platform index; DE still passes.
    for tenant in gallery.tenants:
        with pytest.raises(IngestRefused) as refused:
            ingest_gates_check(tenant=tenant, region="FR-IDF", source_domain="", embeddings=[unit_vector()])
        assert refused.value.reference == order.reference
        ingest_gates_check(tenant=tenant, region="DE", source_domain="", embeddings=[unit_vector()])

    order = order_enforce(order=order, batch_size=5)
    assert order.status == Status.VERIFIED and order.verification["passed"]
    assert remaining_face_ids() == others
    assert not (files_present(gallery) & fr_files)
    assert files_present(gallery) == set(gallery.files) - fr_files
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(region__startswith="FR").exists()
        assert SearchMatch.objects.count() == matches_before - fr_matches
        assert Face.objects.filter(withheld=True).count() == 0

    certificate = order.certificate
    assert certificate["totals"]["deleted"]["images"] == 12 == certificate["totals"]["covered_at_activation"]["images"]
    assert certificate["totals"]["deleted"]["faces"] == 12 and certificate["totals"]["deleted"]["crops"] == 12
    assert certificate["totals"]["deleted"]["thumbnails"] == 12
    assert certificate["verification"]["files_checked_by_kind"] == {"crop": 12, "original": 12, "thumbnail": 12}
    assert certificate["totals"]["deleted"].get("matches", 0) == fr_matches
    per_gallery = {g["tenant_id"]: g["deleted"] for g in certificate["galleries"]}
    assert all(per_gallery[t.pk if t else None]["images"] == 3 for t in gallery.tenants)
    assert certificate["verification"]["passed"] and certificate["verification"]["files_remaining"] == 0
    assert certificate["audit_chain_head"]["hash"] == audit_head()[1]
    # The regulator learns when the last backup that may hold the deleted data expires.
    assert certificate["backups"]["retention_days"] == settings.BACKUP_RETENTION_DAYS
    assert datetime.fromisoformat(certificate["backups"]["last_copy_expires_at"]) == \
        order.verified_at + timedelta(days=settings.BACKUP_RETENTION_DAYS)
    assert all(result.intact for result in audit_chain_verify())
    with dangerously_unscoped(reason="test"):
        actions = set(AuditEvent.objects.filter(target_type="order", target_id=str(order.pk))
                      .values_list("action", flat=True))
    assert {"order.create", "order.activate", "order.enforce", "order.complete", "order.verify"} <= actions


def test_subdivision_order_covers_only_that_subdivision(world_gallery):
    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=["US-IL"]))
    order = order_activate(order=order, actor=Actor.system("test"))
    order_enforce(order=order)
    with dangerously_unscoped(reason="test"):
        regions = set(Image.objects.values_list("region", flat=True))
    assert "US-IL" not in regions and {"US", "US-CA", "FR", None} <= regions


def test_unknown_region_flag(world_gallery):
    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=[], include_unknown_region=True))
    order_enforce(order=order_activate(order=order, actor=Actor.system("test")))
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(region__isnull=True).exists()
        assert Image.objects.filter(region="FR").count() == 8


def test_source_order_covers_subdomains_not_lookalikes(world_gallery):
    order = order_create(**order_fields(kind=Kind.SOURCE, domains=["https://www.social.example/"]))
    assert order.domains == ["social.example"]
    order = order_enforce(order=order_activate(order=order, actor=Actor.system("test")))
    assert order.status == Status.VERIFIED
    with dangerously_unscoped(reason="test"):
        domains = set(Image.objects.values_list("source_domain", flat=True))
    assert domains == {"", "notsocial.example"}
    with pytest.raises(IngestRefused):
        ingest_gates_check(tenant=None, region=None, source_domain="cdn.social.example", embeddings=[])
    ingest_gates_check(tenant=None, region=None, source_domain="notsocial.example", embeddings=[])


def test_order_scoped_to_some_tenants_leaves_the_others(world_gallery, two_tenants):
    b = two_tenants.b.tenant
    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"], scope_all=False, scope_tenants=[b],
                                        scope_platform_index=False))
    order_enforce(order=order_activate(order=order, actor=Actor.system("test")))
    with dangerously_unscoped(reason="test"):
        fr_tenants = set(Image.objects.filter(region__startswith="FR").values_list("tenant_id", flat=True))
    assert b.pk not in fr_tenants and {two_tenants.a.tenant.pk, None} <= fr_tenants
    ingest_gates_check(tenant=two_tenants.a.tenant, region="FR", source_domain="", embeddings=[])
    with pytest.raises(IngestRefused):
        ingest_gates_check(tenant=b, region="FR", source_domain="", embeddings=[])


def test_enforcement_killed_halfway_and_restarted_ends_complete_without_double_counts(world_gallery, monkeypatch):
    gallery = world_gallery
    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                           actor=Actor.system("test"))
    # A time-sliced worker stops after two batches...
    order = order_enforce(order=order, batch_size=2, max_batches=2)
    assert order.status == Status.EXECUTING and order.deleted["images"] == 4

    # ...then a worker dies inside a batch, after tracking the batch's files but before its commit.
    from portal.compliance import enforcement

    real = enforcement._tally_persist

    def crash(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(enforcement, "_tally_persist", crash)
    with pytest.raises(SystemExit):
        order_enforce(order=order, batch_size=3)
    monkeypatch.setattr(enforcement, "_tally_persist", real)
    order.refresh_from_db()
    assert order.deleted["images"] == 4  # the killed batch rolled back, counters with it

    order = order_enforce(order=order, batch_size=3)
    assert order.status == Status.VERIFIED
    assert order.deleted["images"] == 12 and order.deleted["faces"] == 12 and order.deleted["originals"] == 12
    assert not (remaining_face_ids() & _fr(gallery))
    with dangerously_unscoped(reason="test"):
        assert OrderFileDeletion.objects.filter(order=order).count() == 36  # originals, thumbnails, crops
        assert not OrderFileDeletion.objects.filter(order=order, deleted_at__isnull=True).exists()
    # Run again: nothing more to do, same totals.
    again = order_enforce(order=order)
    assert again.deleted == order.deleted and again.status == Status.VERIFIED


def test_a_crash_after_commit_before_file_removal_is_finished_by_the_next_run(world_gallery, monkeypatch):
    from portal.compliance import enforcement

    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                           actor=Actor.system("test"))
    monkeypatch.setattr(enforcement, "order_files_finish", lambda **kwargs: 0)
    order = order_enforce(order=order, max_batches=1)
    with dangerously_unscoped(reason="test"):
        leftover = list(OrderFileDeletion.objects.filter(order=order).values_list("path", flat=True))
    assert leftover and all(default_storage.exists(p) for p in leftover)
    monkeypatch.undo()
    order = order_enforce(order=order)
    assert order.status == Status.VERIFIED
    assert not any(default_storage.exists(p) for p in leftover)


def test_verification_fails_while_a_file_remains(world_gallery):
    from portal.compliance.certificates import order_verify

    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["DE"])),
                           actor=Actor.system("test"))
    order = order_enforce(order=order)
    with dangerously_unscoped(reason="test"):
        path = OrderFileDeletion.objects.filter(order=order).first().path
    from django.core.files.base import ContentFile
    default_storage.save(path, ContentFile(b"resurrected"))
    with dangerously_unscoped(reason="test: back to completed, as the worker leaves it"):
        RegulatoryOrder.objects.filter(pk=order.pk).update(status=Status.COMPLETED)
    order = order_verify(order=order, actor=Actor.system("test"))
    assert order.status == Status.COMPLETED and not order.verification["passed"]
    assert order.verification["files_remaining"] == 1


def test_offboarding_deletes_the_tenants_data_and_searches_and_suspends_it(world_gallery, two_tenants):
    b = two_tenants.b.tenant
    order = order_create(**order_fields(kind=Kind.OFFBOARDING, offboard_tenants=[b]))
    order = order_activate(order=order, actor=Actor.system("test"))
    b.refresh_from_db()
    assert b.status == Tenant.Status.SUSPENDED
    assert order.covered["probes"] == 1
    order = order_enforce(order=order)
    assert order.status == Status.VERIFIED
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(tenant=b).exists()
        assert not Search.objects.filter(tenant=b).exists()
        assert Image.objects.filter(tenant=two_tenants.a.tenant).count() == 10
    with pytest.raises(IngestRefused):
        ingest_gates_check(tenant=b, region="GB", source_domain="", embeddings=[])


def test_state_rules(world_gallery):
    with pytest.raises(OrderInvalid):
        order_create(**order_fields(kind=Kind.REGIONAL, regions=["XX"]))
    with pytest.raises(OrderInvalid):
        order_create(**order_fields(kind=Kind.SOURCE, domains=[]))
    order = order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"]))
    with pytest.raises(OrderStateError):
        order_enforce(order=order)
    order_activate(order=order, actor=Actor.system("test"))
    with pytest.raises(OrderStateError):
        order_activate(order=order, actor=Actor.system("test"))
    # A draft covers nothing: ingest of FR passes while the order is a draft.
    draft = order_create(**order_fields(kind=Kind.REGIONAL, regions=["IT"]))
    assert draft.status == Status.DRAFT
    ingest_gates_check(tenant=None, region="IT", source_domain="", embeddings=[])


def test_search_skips_faces_an_order_covers_even_before_the_sweep_withholds_them(world_gallery, two_tenants):
    from portal.gallery.gates import result_filters_apply
    from tests.builders import picture_add

    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                           actor=Actor.system("test"))
    # A FR picture written past the gate (as if before the order existed) is not yet withheld.
    image = picture_add(world_gallery, tenant=two_tenants.a.tenant, region="FR")
    with dangerously_unscoped(reason="test"):
        face = image.faces.get()
    assert not face.withheld
    a = two_tenants.a.tenant
    # The query itself applies the order's conditions, and the result filter would drop it too.
    assert face.pk not in _visible_to(a, world_gallery.faces[face.pk][2])
    with tenant_scope(a):
        assert face.pk in result_filters_apply(tenant=a, face_ids=[face.pk], probe_embedding=None)
    assert order.status == Status.ACTIVE


@pytest.mark.parametrize("fields, covered", [
    (dict(kind=Kind.REGIONAL, regions=["FR"]), lambda region, source: (region or "").split("-")[0] == "FR"),
    (dict(kind=Kind.REGIONAL, regions=["US-IL"], include_unknown_region=True),
     lambda region, source: region in ("US-IL", None)),
    (dict(kind=Kind.SOURCE, domains=["social.example"]),
     lambda region, source: source in ("social.example", "m.social.example")),
], ids=["regional", "subdivision-and-unknown", "source-with-subdomains"])
def test_commit_of_activation_alone_hides_covered_faces_in_every_tenant(world_gallery, monkeypatch, fields, covered):
    """The withheld flags are set after activation commits; a crash before that must not let a
    covered face through. With the flag-setting step knocked out, the order's status alone hides
    exactly what it covers, and every other face (unknown region included) stays searchable."""
    from portal.compliance import orders

    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))
    gallery = world_gallery
    order = order_activate(order=order_create(**order_fields(**fields)), actor=Actor.system("test"))
    assert order.status == Status.ACTIVE
    with dangerously_unscoped(reason="test"):
        assert not Face.objects.filter(withheld=True).exists()
    hidden = {fid for fid, (_t, region, _e, source) in gallery.faces.items() if covered(region, source)}
    assert hidden and hidden != set(gallery.faces)
    for tenant in gallery.tenants[:3]:
        tenant.refresh_from_db()
        readable = {fid for fid, (t, *_rest) in gallery.faces.items()
                    if t == tenant.pk or (t is None and tenant.may_search_platform_index)}
        seen = set()
        for face_id in readable:
            seen |= _visible_to(tenant, gallery.faces[face_id][2], k=5)
        assert not seen & hidden
        assert seen == readable - hidden

    # The sweep then sets the flags; what is visible does not change.
    orders.orders_sweep()
    with dangerously_unscoped(reason="test"):
        assert set(Face.objects.filter(withheld=True).values_list("id", flat=True)) == hidden


def test_activation_sets_withheld_flags_after_the_commit_and_audits_them(world_gallery):
    order = order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                           actor=Actor.system("test"))
    fr = _fr(world_gallery)
    with dangerously_unscoped(reason="test"):
        assert set(Face.objects.filter(withheld=True).values_list("id", flat=True)) == fr
        withhold = AuditEvent.objects.get(action="order.withhold", target_id=str(order.pk))
        activate = AuditEvent.objects.get(action="order.activate", target_id=str(order.pk))
    assert withhold.details["faces_withheld"] == len(fr) and withhold.pk > activate.pk


def test_order_scoped_to_one_tenant_hides_nothing_from_the_others(world_gallery, two_tenants, monkeypatch):
    from portal.compliance import orders

    monkeypatch.setattr(orders, "order_withhold_flags", lambda **kwargs: (0, 0))
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"], scope_all=False,
                                                     scope_tenants=[b], scope_platform_index=False)),
                   actor=Actor.system("test"))
    gallery = world_gallery
    a.refresh_from_db()
    b.refresh_from_db()
    fr_a, fr_b = gallery.ids(region="FR", tenant_id=a.pk), gallery.ids(region="FR", tenant_id=b.pk)
    fr_index = gallery.ids(region="FR", tenant_id=None)
    assert fr_a and fr_b and fr_index and a.may_search_platform_index
    for face_id in fr_a | fr_index:
        assert face_id in _visible_to(a, gallery.faces[face_id][2], k=3)
    for face_id in fr_b:
        assert not (_visible_to(b, gallery.faces[face_id][2]) & fr_b)


def _stored_response(*, tenant, key, face_uuids):
    from portal.api.models import IdempotencyRecord

    with tenant_scope(tenant):
        return IdempotencyRecord.objects.create(
            tenant=tenant, key=key, method="POST", path="/api/v1/searches", fingerprint="0" * 64,
            response_status=201, response_body={"id": 1, "matches": [{"face_uuid": u} for u in face_uuids]})


def test_enforcement_deletes_stored_api_responses_that_show_covered_faces(world_gallery, two_tenants):
    from portal.api.models import IdempotencyRecord

    a = two_tenants.a.tenant
    with dangerously_unscoped(reason="test"):
        uuids = dict(Face.objects.values_list("id", "uuid"))
    fr = _fr(world_gallery)
    fr_uuid = str(uuids[min(fr & world_gallery.ids(tenant_id=a.pk))])
    de_uuid = str(uuids[min(world_gallery.ids(region="DE", tenant_id=a.pk))])
    _stored_response(tenant=a, key="mentions-fr", face_uuids=[de_uuid, fr_uuid])
    _stored_response(tenant=a, key="de-only", face_uuids=[de_uuid])

    order = order_enforce(order=order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                                               actor=Actor.system("test")))
    assert order.status == Status.VERIFIED
    assert order.verification["rows_remaining"]["cached_responses"] == 0
    with tenant_scope(a):
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["de-only"]
    assert order.deleted["cached_responses"] == 1
    per_gallery = {g["tenant_id"]: g["deleted"] for g in order.certificate["galleries"]}
    assert per_gallery[a.pk]["cached_responses"] == 1


def test_verification_fails_while_a_stored_response_still_shows_a_deleted_face(world_gallery, two_tenants):
    from portal.compliance.certificates import order_verify

    order = order_enforce(order=order_activate(order=order_create(**order_fields(kind=Kind.REGIONAL, regions=["FR"])),
                                               actor=Actor.system("test")))
    assert order.status == Status.VERIFIED
    # A copy the deletion did not know about (written past the signal) makes the proof fail.
    _stored_response(tenant=two_tenants.b.tenant, key="stale", face_uuids=["0b0b0b0b-0000-4000-8000-000000000000"])
    with dangerously_unscoped(reason="test"):
        RegulatoryOrder.objects.filter(pk=order.pk).update(status=Status.COMPLETED)
    order = order_verify(order=order, actor=Actor.system("test"))
    assert order.status == Status.COMPLETED and not order.verification["passed"]
    assert order.verification["rows_remaining"]["cached_responses"] == 1

"""Offboarding a tenant drops its partition of the face table (portal/gallery/partitions.py,
portal/compliance/enforcement.py `_partition_drop`), with the same counts, files, matches and
certificate as deleting the faces row by row did; and only an offboarding order can drop one."""

import psycopg
import pytest
from django.db import DatabaseError

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create
from portal.gallery.models import Face, MaintenanceState
from portal.search.models import SearchMatch
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, scope_atomic, scope_connection, tenant_scope
from tests.builders import files_present, order_fields
from tests.factories import app_role_connect

pytestmark = pytest.mark.django_db

Kind, Status = RegulatoryOrder.Kind, RegulatoryOrder.Status


def _partition_faces() -> dict[str, tuple[int, int, int]]:
    """{partition: (its table's oid, faces, faces with a crop)} for every partition of the face table."""
    with dangerously_unscoped(reason="test: partitions"), scope_connection().cursor() as cursor:
        cursor.execute("SELECT c.relname, c.oid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                       " WHERE i.inhparent = 'gallery_face'::regclass")
        counts = {}
        for name, oid in cursor.fetchall():
            cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE crop <> '') FROM {name}")
            counts[name] = (oid, *cursor.fetchone())
        return counts


def test_offboarding_drops_the_tenants_partition_with_the_same_counts_files_and_certificate(world_gallery,
                                                                                             two_tenants):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    before = _partition_faces()
    b_partition = f"gallery_face_tenant_{b.pk}"
    b_table, b_faces, b_crops = before[b_partition]
    assert b_faces > 0 and b_crops > 0
    with dangerously_unscoped(reason="test"):
        b_crop_files = {face.crop.name for face in Face.objects.filter(tenant=b).exclude(crop="")}
    assert b_crop_files and b_crop_files <= files_present(world_gallery)

    dead_faces = MaintenanceState.objects.filter(pk=1).values_list("faces_deleted_since", flat=True).first() or 0
    order = order_activate(order=order_create(**order_fields(kind=Kind.OFFBOARDING, offboard_tenants=[b])),
                           actor=Actor.system("test"))
    assert order.covered["faces"] == b_faces
    order = order_enforce(order=order)

    after = _partition_faces()
    # B's table was dropped whole; an empty one takes its place (the tenant stays, suspended).
    assert after[b_partition][0] != b_table and after[b_partition][1:] == (0, 0)
    assert {name: counts for name, counts in before.items() if name != b_partition} == {
        name: counts for name, counts in after.items() if name != b_partition}
    assert order.status == Status.VERIFIED and order.verification["passed"]
    assert order.deleted["faces"] == b_faces and order.deleted["crops"] == b_crops
    assert not (b_crop_files & files_present(world_gallery))
    # A dropped table leaves no dead rows for the face index's maintenance to vacuum.
    assert (MaintenanceState.objects.filter(pk=1).values_list("faces_deleted_since", flat=True).first() or 0) == dead_faces
    with dangerously_unscoped(reason="test"):
        assert order.tenant_progress.get(tenant_id=b.pk).deleted["faces"] == b_faces
        assert not SearchMatch.objects.filter(tenant=b).exists()
        actions = list(AuditEvent.objects.filter(target_type="order", target_id=str(order.pk))
                       .values_list("action", flat=True))
    assert {"order.activate", "order.enforce", "order.complete"} <= set(actions), actions
    # The offboarded tenant's searches find nothing; A's search is unchanged.
    probe = world_gallery.faces[next(iter(world_gallery.ids(tenant_id=a.pk)))][2]
    with tenant_scope(b):
        assert tenant_faces_nearest(tenant=b, embedding=probe, k=10, include_platform_index=False) == []
    with tenant_scope(a):
        assert tenant_faces_nearest(tenant=a, embedding=probe, k=10, include_platform_index=False)


def test_only_platform_work_under_an_offboarding_order_drops_a_partition(world_gallery, two_tenants):
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    drop = "SELECT portal_face_partition_drop(%s)"
    # The application's role, in B's own scope or with no scope at all.
    with tenant_scope(b), pytest.raises(DatabaseError, match="Only platform work"):
        with scope_atomic(), scope_connection().cursor() as cursor:
            cursor.execute(drop, [b.pk])
    with app_role_connect(autocommit=True) as attacker, attacker.cursor() as cursor:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute(drop, [b.pk])
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cursor.execute("SELECT portal_face_partition_create(%s)", [a.pk + 1000])
    # Platform work without an order in force, a draft order, and the platform index.
    draft = order_create(**order_fields(kind=Kind.OFFBOARDING, offboard_tenants=[b]))
    for tenant_id, message in ((b.pk, "No offboarding order in force"), (None, "never dropped")):
        with dangerously_unscoped(reason="test"), pytest.raises(DatabaseError, match=message):
            with scope_atomic(), scope_connection().cursor() as cursor:
                cursor.execute(drop, [tenant_id])
    assert draft.status == Status.DRAFT
    assert f"gallery_face_tenant_{b.pk}" in _partition_faces() and "gallery_face_platform" in _partition_faces()

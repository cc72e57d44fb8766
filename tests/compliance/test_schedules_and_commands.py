"""Schedules registered by the project, the scheduled services, and the audit_verify command."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from portal.compliance import services
from portal.compliance.audit import Actor, audit_record
from portal.compliance.models import AuditEvent, MaintenanceState, RegulatoryOrder
from portal.compliance.schedules import CRONTABS, INTERVALS
from portal.search.models import Search
from tenants.context import dangerously_unscoped
from tests.compliance.builders import order_fields, picture_add, search_add
from tests.compliance.test_audit_chain import _as_owner

pytestmark = pytest.mark.django_db


def test_schedules_exist_after_migrate_and_registering_again_changes_nothing():
    names = set(INTERVALS) | set(CRONTABS)
    assert names <= set(PeriodicTask.objects.values_list("name", flat=True))
    before = PeriodicTask.objects.count()
    call_command("schedules_register", stdout=open("/dev/null", "w"))
    call_command("schedules_register", stdout=open("/dev/null", "w"))
    assert PeriodicTask.objects.count() == before
    tasks = set(PeriodicTask.objects.filter(name__in=names).values_list("task", flat=True))
    assert tasks == {"compliance.orders_sweep", "compliance.probes_purge", "compliance.order_deadlines_warn",
                     "compliance.face_index_maintain", "api.idempotency_records_expire",
                     "compliance.files_orphaned_delete"}
    from portal.celery import app

    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)


def test_sweep_withholds_data_that_slipped_in_after_activation(world_gallery):
    order = services.order_activate(order=services.order_create(**order_fields(
        kind=RegulatoryOrder.Kind.REGIONAL, regions=["IT"])), actor=Actor.system("test"))
    services.order_enforce(order=order)
    # A picture that bypassed the gate (e.g. written before the gate existed).
    image = picture_add(world_gallery, tenant=None, region="IT")
    assert services.orders_sweep() == [order.pk]
    with dangerously_unscoped(reason="test"):
        assert image.faces.get().withheld
    order = services.order_enforce(order=order)
    assert order.status == RegulatoryOrder.Status.VERIFIED and order.deleted["images"] == 1
    assert services.orders_sweep() == []


def test_deadline_warnings_once_a_day(settings, user_factory):
    user_factory(is_staff=True, email="operator@example.test")
    fields = order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])
    fields["deadline"] = timezone.localdate() + timedelta(days=3)
    order = services.order_create(**fields)
    assert [o.pk for o in services.order_deadlines_warn()] == [order.pk]
    assert services.order_deadlines_warn() == []
    assert len(mail.outbox) == 1 and order.reference in mail.outbox[0].subject
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="order.deadline_warning").count() == 1


def test_probes_past_retention_are_purged(two_tenants):
    a = two_tenants.a.tenant
    old = search_add(tenant=a, face_ids=[])
    fresh = search_add(tenant=a, face_ids=[])
    with dangerously_unscoped(reason="test"):
        Search.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=a.probe_retention_days + 1))
        Search.objects.filter(pk=fresh.pk).update(probe_expires_at=timezone.now() + timedelta(days=5))
    assert services.probes_purge() == 1
    with dangerously_unscoped(reason="test"):
        assert Search.objects.get(pk=old.pk).probe.name == ""
        assert Search.objects.get(pk=fresh.pk).probe.name != ""
    assert default_storage.exists(fresh.probe.name)


def test_face_index_maintenance_runs_only_after_large_deletions():
    assert services.face_index_maintain(min_deleted=10)["ran"] is False
    MaintenanceState.objects.update_or_create(pk=1, defaults={"faces_deleted_since": 0})
    result = services.face_index_maintain(force=True)
    assert result["ran"] and result["reindexed"] is False


@pytest.mark.django_db(transaction=True)
def test_audit_verify_command_names_the_first_broken_link(two_tenants, capsys):
    for n in range(3):
        audit_record(action="test.event", actor=Actor.system("test"), details={"n": n})
    call_command("audit_verify")
    assert "intact: 3 events" in capsys.readouterr().out
    _as_owner("UPDATE compliance_auditevent SET details = '{\"n\": 9}' WHERE seq = 2")
    with pytest.raises(CommandError, match="broken at event #2"):
        call_command("audit_verify")


def test_log_ins_and_failures_are_audited(client, two_tenants):
    from tests.factories import TEST_PASSWORD

    email = two_tenants.a.owner.email
    assert client.post("/accounts/login/", {"username": email, "password": TEST_PASSWORD}).status_code == 302
    client.post("/accounts/logout/")
    assert client.post("/accounts/login/", {"username": email, "password": "wrong"}).status_code == 200
    with dangerously_unscoped(reason="test"):
        actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == ["auth.login", "auth.logout", "auth.login_failed"]


def _age_every_file(settings, hours=2):
    import os

    old = (timezone.now() - timedelta(hours=hours)).timestamp()
    for folder, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            os.utime(os.path.join(folder, name), (old, old))


def test_files_left_by_a_rolled_back_ingest_are_found_and_deleted_by_the_daily_sweep(
        two_tenants, faces_dir, settings, capsys):
    from django.db import transaction

    from portal.compliance.tasks import files_orphaned_delete
    from portal.gallery.models import Image, LegalBasis
    from portal.gallery.services import image_ingest

    tenant = two_tenants.a.tenant
    kept = image_ingest(tenant=tenant, data=(faces_dir / "obama_2.jpg").read_bytes(), actor=Actor.system("test"),
                        legal_basis=LegalBasis.LAW_ENFORCEMENT).image
    search = search_add(tenant=tenant, face_ids=[])

    class Abandoned(Exception):
        pass

    # The API request or import batch around the ingest fails after the files were written.
    with pytest.raises(Abandoned), transaction.atomic():
        lost = image_ingest(tenant=tenant, data=(faces_dir / "biden_1.jpg").read_bytes(),
                            actor=Actor.system("test"), legal_basis=LegalBasis.LAW_ENFORCEMENT).image
        with dangerously_unscoped(reason="test"):
            lost_files = [lost.file.name, *lost.faces.values_list("crop", flat=True)]
        raise Abandoned
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(sha256=lost.sha256).exists()
        kept_files = [kept.file.name, *kept.faces.values_list("crop", flat=True), search.probe.name]
    default_storage.save("probes/2026/11/left-behind.jpg", ContentFile(b"probe"))
    assert all(default_storage.exists(name) for name in lost_files + kept_files)

    # Young files are left alone: their transaction may still be running.
    assert services.files_orphaned_delete() == {"images": 0, "crops": 0, "probes": 0}
    _age_every_file(settings)
    call_command("files_orphans", "--dry-run")
    assert "images: 1 found" in capsys.readouterr().out
    assert all(default_storage.exists(name) for name in lost_files)

    assert files_orphaned_delete.apply().get() == {"images": 1, "crops": 1, "probes": 1}
    assert not any(default_storage.exists(name) for name in lost_files)
    assert not default_storage.exists("probes/2026/11/left-behind.jpg")
    assert all(default_storage.exists(name) for name in kept_files)
    with dangerously_unscoped(reason="test"):
        assert AuditEvent.objects.filter(action="files.orphans_delete").exists()


def test_orphan_sweep_keeps_a_referenced_file_whose_name_storage_suffixed(world_gallery, settings):
    from portal.gallery.models import Face

    with dangerously_unscoped(reason="test"):
        face = Face.objects.filter(tenant__isnull=False).first()
        original = face.crop.name
        face.crop.save("crop.jpg", ContentFile(b"crop again"), save=True)  # the name is taken: suffixed
        assert face.crop.name != original and face.crop.name.startswith(original[:-4])
    _age_every_file(settings)
    found = services.files_orphaned_delete()
    assert found["crops"] == 1 and not default_storage.exists(original)  # the replaced one
    assert default_storage.exists(face.crop.name)
    assert all(default_storage.exists(name) for name in world_gallery.files if name != original)

"""Keeping storage and the face index healthy: files no row refers to, index maintenance."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.gallery import maintenance
from portal.gallery.models import MaintenanceState
from tenants.context import dangerously_unscoped
from tests.builders import search_add

pytestmark = pytest.mark.django_db


def test_face_index_maintenance_runs_only_after_large_deletions():
    assert maintenance.face_index_maintain(min_deleted=10)["ran"] is False
    MaintenanceState.objects.update_or_create(pk=1, defaults={"faces_deleted_since": 0})
    result = maintenance.face_index_maintain(force=True)
    assert result["ran"] and result["reindexed"] is False


def _age_every_file(settings, hours=2):
    import os

    old = (timezone.now() - timedelta(hours=hours)).timestamp()
    for folder, _dirs, files in os.walk(settings.MEDIA_ROOT):
        for name in files:
            os.utime(os.path.join(folder, name), (old, old))


def test_files_left_by_a_rolled_back_ingest_are_found_and_deleted_by_the_daily_sweep(
        two_tenants, faces_dir, settings, capsys):
    from django.db import transaction

    from portal.gallery.tasks import files_orphaned_delete
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
            lost_files = [lost.file.name, lost.thumbnail.name, *lost.faces.values_list("crop", flat=True)]
        raise Abandoned
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(sha256=lost.sha256).exists()
        kept_files = [kept.file.name, kept.thumbnail.name, *kept.faces.values_list("crop", flat=True), search.probe.name]
    default_storage.save("probes/2026/11/left-behind.jpg", ContentFile(b"probe"))
    assert all(default_storage.exists(name) for name in lost_files + kept_files)

    # Young files are left alone: their transaction may still be running.
    assert maintenance.files_orphaned_delete() == {"images": 0, "crops": 0, "probes": 0}
    _age_every_file(settings)
    call_command("files_orphans", "--dry-run")
    assert "images: 2 found" in capsys.readouterr().out  # the picture and its thumbnail
    assert all(default_storage.exists(name) for name in lost_files)

    assert files_orphaned_delete.apply().get() == {"images": 2, "crops": 1, "probes": 1}
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
    found = maintenance.files_orphaned_delete()
    assert found["crops"] == 1 and not default_storage.exists(original)  # the replaced one
    assert default_storage.exists(face.crop.name)
    assert all(default_storage.exists(name) for name in world_gallery.files if name != original)

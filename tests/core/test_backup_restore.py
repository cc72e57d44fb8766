"""Backups that obey (portal/core/backups.py, restores.py): real pg_dump and pg_restore, real files,
the real face engine. The restore goes into a throw-away database, so the test database stays."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections

from portal.audit.journal import journal_entries
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance.opt_outs import opt_out_confirm, opt_out_create
from portal.compliance.orders import order_activate, order_create
from portal.core.backups import backup_create
from portal.core.checks import restore_finished
from portal.core.restores import restore_pending, restore_run
from portal.faces.engine import face_engine
from portal.gallery.models import Face, Image, LegalBasis
from portal.gallery.services import image_delete, image_ingest
from portal.runtime.database import database_drop, database_name_use, owner_psycopg_connect
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import order_fields

pytestmark = pytest.mark.django_db(transaction=True)
THROWAWAY = "test_portal_restore"
SYSTEM = Actor.system("test")


@pytest.fixture
def throwaway_database():
    yield THROWAWAY
    connections.close_all()
    with owner_psycopg_connect(dbname="postgres") as admin:
        database_drop(admin.cursor(), name=THROWAWAY)


def _ingest(tenant, faces_dir, name, region):
    return image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=SYSTEM,
                        legal_basis=LegalBasis.LAW_ENFORCEMENT, region=region)


def _state(tenant, probe: bytes) -> tuple[set[str], set[int], set[str]]:
    """(the tenant's pictures by SHA-256, the faces a search for `probe` returns)."""
    embedding = face_engine().faces_detect(data=probe).largest().embedding
    with tenant_scope(tenant):
        pictures = set(Image.objects.values_list("sha256", flat=True))
        found = {n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=embedding, k=10,
                                                        include_platform_index=False)}
    return pictures, found


def test_restore_of_an_older_backup_reapplies_orders_erasures_and_deletions(two_tenants, faces_dir, settings,
                                                                            throwaway_database, tmp_path):
    tenant = two_tenants.a.tenant
    obama = _ingest(tenant, faces_dir, "obama_1.jpg", "GB")
    french = _ingest(tenant, faces_dir, "biden_1.jpg", "FR")
    deleted = _ingest(tenant, faces_dir, "kit_harington_1.jpg", "GB")
    kept = _ingest(tenant, faces_dir, "rose_leslie_1.jpg", "GB")
    files = {r.image.sha256: [r.image.file.name, *(f.crop.name for f in r.faces)]
             for r in (obama, french, deleted, kept)}
    media = Path(settings.MEDIA_ROOT)

    folder = backup_create(destination=tmp_path / "backups", actor=SYSTEM)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["retention_days"] == settings.BACKUP_RETENTION_DAYS and manifest["journal"]["seq"] == 0
    assert manifest["audit_heads"][str(tenant.pk)]["position"] >= 4  # its four ingests
    from django.db.migrations.loader import MigrationLoader
    assert [("gallery", manifest["portal"]["migrations"]["gallery"])] == MigrationLoader(None).graph.leaf_nodes("gallery")

    # After the backup: a regional order, a person's erasure (opt-out) and a tenant's own deletion.
    fr = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"],
                                                          reference="CNIL-FR-RESTORE")), actor=SYSTEM)
    order_enforce(order=fr)
    opt_out = opt_out_create(pictures=[(faces_dir / "obama_2.jpg").read_bytes()], contact="person@example.test",
                             consent=True, channel=OptOut.Channel.OPERATOR, actor=SYSTEM)
    order_enforce(order=opt_out_confirm(opt_out=opt_out, actor=SYSTEM))
    with tenant_scope(tenant):
        image_delete(tenant=tenant, image=Image.objects.get(pk=deleted.image.pk), actor=SYSTEM)
    assert [e.kind for e in journal_entries()] == ["order.activate", "optout.create", "order.activate", "image.delete"]
    gone = {obama.image.sha256, french.image.sha256, deleted.image.sha256}
    assert not any((media / name).exists() for sha in gone for name in files[sha])

    report = restore_run(folder=folder, database=THROWAWAY, actor=SYSTEM)
    assert report.entries_applied == 4 and report.images_deleted == 1 and report.opt_outs_restored == 1
    assert set(report.orders_activated) == {"CNIL-FR-RESTORE", f"OPT-OUT-{str(opt_out.public_id)[:8].upper()}"}
    assert report.problems == [] and restore_pending() is None
    with database_name_use(THROWAWAY):
        pictures, found = _state(tenant, (faces_dir / "obama_2.jpg").read_bytes())
        assert pictures == {kept.image.sha256}
        with tenant_scope(tenant):
            assert not set(Face.objects.values_list("id", flat=True)) & found - {f.pk for f in kept.faces}
        with dangerously_unscoped(reason="test"):
            assert set(RegulatoryOrder.objects.values_list("status", flat=True)) == {RegulatoryOrder.Status.VERIFIED}
            assert OptOut.objects.get(public_id=opt_out.public_id).contact == "person@example.test"
    assert not any((media / name).exists() for sha in gone for name in files[sha])
    assert all((media / name).exists() for name in files[kept.image.sha256])


def test_without_the_journal_the_backup_brings_everything_back(two_tenants, faces_dir, settings,
                                                               throwaway_database, tmp_path):
    """The restore's re-application is what keeps erased data out: the dump itself holds it. (Through
    the commands.)"""
    tenant = two_tenants.a.tenant
    french = _ingest(tenant, faces_dir, "biden_1.jpg", "FR")
    out = StringIO()
    call_command("backup", "--destination", str(tmp_path / "backups"), stdout=out)
    folder = Path(out.getvalue().strip().rsplit(" ", 1)[-1])
    order_enforce(order=order_activate(order=order_create(**order_fields(
        kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"])), actor=SYSTEM))
    settings.ENFORCEMENT_JOURNAL_DIR = tmp_path / "an-empty-journal"  # as if the journal were lost
    out = StringIO()
    call_command("restore", str(folder), "--database", THROWAWAY, "--yes", stdout=out)
    assert "0 journal entries applied" in out.getvalue()
    with database_name_use(THROWAWAY), tenant_scope(tenant):
        assert Image.objects.filter(sha256=french.image.sha256).exists()
    assert (Path(settings.MEDIA_ROOT) / french.image.file.name).exists()


def test_an_unfinished_restore_keeps_the_portal_shut(client, settings, tmp_path, throwaway_database):
    assert client.get("/").status_code != 503
    broken = tmp_path / "broken-backup"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({"format": "portal-backup/1", "taken_at": "2026-01-01T00:00:00+00:00",
                                                      "journal": {"seq": 0}, "database_sha256": "", "media_sha256": ""}))
    with pytest.raises(Exception, match="missing or does not match"):
        restore_run(folder=broken, database=THROWAWAY, actor=SYSTEM)
    assert restore_pending() is None  # refused before anything was replaced

    settings.RESTORE_MARKER.write_text("restore of x into y started\n")  # a restore that died half-way
    response = client.get("/")
    assert response.status_code == 503 and b"being restored" in response.content
    assert client.get("/api/v1/searches").status_code == 503
    assert [error.id for error in restore_finished(None)] == ["portal.E006"]  # run_portal will not start
    settings.RESTORE_MARKER.unlink()
    assert client.get("/").status_code != 503
    assert restore_finished(None) == []

"""New evidence about a picture already held (portal/gallery/evidence.py), through import_images
on the real engine: recorded with its history, the orders in force applied to it again."""

from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from portal.audit.models import AuditEvent
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_activate, order_create, orders_sweep
from portal.faces.engine import face_engine
from portal.gallery.models import Face, Image, ImageEvidence
from portal.gallery.regions import RegionEvidence
from portal.search.selectors import tenant_faces_nearest
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import order_fields

pytestmark = pytest.mark.django_db


def _import(*args):
    out, err = StringIO(), StringIO()
    call_command("import_images", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _found(tenant, data) -> set[int]:
    embedding = face_engine().faces_detect(data=data).largest().embedding
    with tenant_scope(tenant):
        return {n.face_id for n in tenant_faces_nearest(tenant=tenant, embedding=embedding, k=5,
                                                        include_platform_index=False)}


def test_a_picture_declared_fr_on_reimport_is_withheld_at_once_and_deleted_by_the_sweep(two_tenants, faces_dir):
    tenant = two_tenants.a.tenant
    picture = faces_dir / "obama_2.jpg"
    order = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"],
                                                             reference="CNIL-FR-9")), actor=Actor.system("test"))
    out, _ = _import(picture, "--tenant", "agency-a", "--legal-basis", "law_enforcement", "--region", "GB")
    assert "Imported 1 picture(s)" in out
    with tenant_scope(tenant):
        image = Image.objects.get()
        face_ids = set(Face.objects.values_list("id", flat=True))
        files = [image.file.name, *Face.objects.values_list("crop", flat=True)]
    assert face_ids <= _found(tenant, picture.read_bytes())

    out, err = _import(picture, "--tenant", "agency-a", "--legal-basis", "public_record", "--region", "FR")
    assert "0 already there; new evidence recorded on 1; 0 refused" in out
    assert "NEW EVIDENCE obama_2.jpg: provenance recorded on the picture already held; now covered by CNIL-FR-9, " \
           "withheld" in err
    with tenant_scope(tenant):
        image.refresh_from_db()
        assert (image.region, image.region_evidence, image.withheld) == ("FR", RegionEvidence.DECLARED, True)
        assert set(Face.objects.values_list("region", "withheld")) == {("FR", True)}
        history = list(ImageEvidence.objects.filter(image=image).values_list(
            "region", "legal_basis", "declared_by_label", "withheld_by_order"))
        assert AuditEvent.objects.filter(action="image.evidence", tenant=tenant).count() == 1
    assert history == [("GB", "law_enforcement", "", ""),
                       ("FR", "public_record", "system: command: import_images", "CNIL-FR-9")]
    assert not face_ids & _found(tenant, picture.read_bytes())  # not searchable from the commit

    assert order.pk in orders_sweep()
    order_enforce(order=order)
    with dangerously_unscoped(reason="test"):
        assert not Image.objects.filter(pk=image.pk).exists() and not Face.objects.filter(pk__in=face_ids).exists()
    assert not any(default_storage.exists(name) for name in files)


def test_new_source_evidence_is_recorded_without_undoing_a_declared_region(two_tenants, faces_dir, tmp_path):
    tenant = two_tenants.a.tenant
    (tmp_path / "obama_1.jpg").write_bytes((faces_dir / "obama_1.jpg").read_bytes())
    _import(tmp_path, "--tenant", "agency-a", "--legal-basis", "consent", "--region", "DE")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,source_url,region,legal_basis\nobama_1.jpg,https://news.example.fr/p.jpg,,consent\n")

    out, _ = _import(manifest, "--tenant", "agency-a")
    assert "0 already there; new evidence recorded on 1;" in out
    with tenant_scope(tenant):
        image = Image.objects.get()
        # The .fr domain is weaker evidence than the declared DE: the region stays, the source is taken.
        assert (image.region, image.source_domain, image.withheld) == ("DE", "news.example.fr", False)
        assert list(ImageEvidence.objects.values_list("region", "region_evidence", "source_domain")) == [
            ("DE", RegionEvidence.DECLARED, ""), ("FR", RegionEvidence.SOURCE_DOMAIN, "news.example.fr")]

    out, _ = _import(manifest, "--tenant", "agency-a")  # the same evidence again is nothing new
    assert "1 already there; new evidence recorded on 0;" in out
    with tenant_scope(tenant):
        assert ImageEvidence.objects.count() == 2
    with tenant_scope(two_tenants.b.tenant):
        assert ImageEvidence.objects.count() == 0 and Image.objects.count() == 0

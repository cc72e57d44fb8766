"""The import_images command on the real engine: folders, manifests, bad files, re-runs, gates."""

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.audit.services import Actor
from portal.gallery import gates
from portal.gallery.gates import IngestRefused
from portal.gallery.models import Face, Image, LegalBasis, Subject
from portal.gallery.regions import RegionEvidence
from tenants.context import dangerously_unscoped, tenant_scope

pytestmark = pytest.mark.django_db


def _import(*args):
    out, err = StringIO(), StringIO()
    call_command("import_images", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _folder(tmp_path, faces_dir, *names):
    folder = tmp_path / "pictures"
    (folder / "nested").mkdir(parents=True)
    for index, name in enumerate(names):
        shutil.copy(faces_dir / name, (folder / "nested" if index % 2 else folder) / name)
    return folder


def test_folder_import_recurses_skips_a_bad_file_and_a_rerun_skips_everything(two_tenants, faces_dir, tmp_path):
    folder = _folder(tmp_path, faces_dir, "obama_1.jpg", "group_kit_rose.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"not really a jpeg")
    (folder / "notes.txt").write_text("not a picture, not even looked at")
    out, err = _import(folder, "--tenant", "agency-a", "--legal-basis", "law_enforcement", "--batch-size", "2")
    assert "Imported 2 picture(s) with 3 face(s); 0 already there; new evidence recorded on 0; 0 refused; 1 failed." in out
    assert "FAILED broken.jpg: The picture looks like JPEG but cannot be read" in err
    with tenant_scope(two_tenants.a.tenant):
        assert Image.objects.count() == 2 and Face.objects.count() == 3
        assert set(Image.objects.values_list("legal_basis", flat=True)) == {LegalBasis.LAW_ENFORCEMENT}

    out, _ = _import(folder, "--tenant", "agency-a", "--legal-basis", "law_enforcement")
    assert "Imported 0 picture(s) with 0 face(s); 2 already there; new evidence recorded on 0; 0 refused; 1 failed." in out
    with tenant_scope(two_tenants.b.tenant):
        assert Image.objects.count() == 0


def test_manifest_import_creates_subjects_by_label_and_keeps_provenance(two_tenants, faces_dir, tmp_path):
    _folder(tmp_path, faces_dir, "obama_1.jpg", "biden_1.jpg", "obama_3.jpg")
    tenant = two_tenants.a.tenant
    with tenant_scope(tenant):
        existing = Subject.objects.create(tenant=tenant, label="Barack Obama")
    manifest = tmp_path / "pictures" / "manifest.csv"
    manifest.write_text(
        "path,source_url,region,legal_basis,collected_at,subject\n"
        "obama_1.jpg,https://news.example.fr/a.jpg,,public_record,2024-03-01,Barack Obama\n"
        "nested/biden_1.jpg,,US-DE,,2024-03-02T10:00:00Z,Joe Biden\n"
        "obama_3.jpg,,,consent,,Barack Obama\n"
        "missing.jpg,,,consent,,\n"
    )
    out, err = _import(manifest, "--tenant", "agency-a", "--legal-basis", "law_enforcement")
    assert "Imported 3 picture(s) with 3 face(s)" in out and "1 failed" in out
    assert "FAILED missing.jpg: cannot be read" in err
    with tenant_scope(tenant):
        assert sorted(Subject.objects.values_list("label", flat=True)) == ["Barack Obama", "Joe Biden"]
        obama = Image.objects.filter(subject=existing).order_by("id")
        assert obama.count() == 2
        first = obama[0]
        assert (first.source_domain, first.region, first.region_evidence, first.legal_basis) == (
            "news.example.fr", "FR", RegionEvidence.SOURCE_DOMAIN, LegalBasis.PUBLIC_RECORD)
        assert first.collected_at.date().isoformat() == "2024-03-01"
        biden = Image.objects.get(subject__label="Joe Biden")
        assert (biden.region, biden.legal_basis) == ("US-DE", LegalBasis.LAW_ENFORCEMENT)
        assert Face.objects.filter(subject__label="Joe Biden").count() == 1


def test_platform_import_goes_to_the_platform_index(two_tenants, faces_dir, tmp_path):
    folder = _folder(tmp_path, faces_dir, "biden_2.jpg")
    out, _ = _import(folder, "--platform", "--legal-basis", "public_record", "--source-url",
                     "https://www.lemonde.fr/x.jpg")
    assert "Imported 1 picture(s) with 1 face(s)" in out
    with dangerously_unscoped(reason="test"):
        image = Image.objects.get()
        assert image.tenant_id is None and image.region == "FR"


@pytest.fixture
def refusing_gate():
    def gate(*, tenant, region, source_domain, embeddings):
        if source_domain == "banned.example":
            raise IngestRefused("The source platform banned.example is under a stop-collection order.",
                                reference="ORDER-42")

    gates.register_ingest_gate(gate)
    yield gate
    gates._ingest_gates.remove(gate)


def test_a_picture_refused_by_a_gate_is_reported_and_skipped(two_tenants, faces_dir, tmp_path, refusing_gate):
    folder = _folder(tmp_path, faces_dir, "obama_1.jpg", "biden_1.jpg")
    manifest = folder / "manifest.csv"
    manifest.write_text("path,source_url,legal_basis\n"
                        "obama_1.jpg,https://banned.example/o.jpg,consent\n"
                        "nested/biden_1.jpg,https://fine.example/b.jpg,consent\n")
    out, err = _import(manifest, "--tenant", "retailer-b")
    assert "Imported 1 picture(s) with 1 face(s); 0 already there; new evidence recorded on 0; 1 refused; 0 failed." in out
    assert "REFUSED obama_1.jpg: The source platform banned.example" in err and "ORDER-42" in err
    assert "(order " not in err  # the reference as the gate gives it, not labelled "order" twice
    with tenant_scope(two_tenants.b.tenant):
        assert list(Image.objects.values_list("source_domain", flat=True)) == ["fine.example"]


@pytest.mark.parametrize("args, message", [
    (["--tenant", "nobody"], "no tenant"),
    (["--tenant", "agency-a"], "--legal-basis"),
])
def test_usage_errors_stop_before_anything_runs(two_tenants, faces_dir, tmp_path, args, message):
    folder = _folder(tmp_path, faces_dir)
    with pytest.raises(CommandError, match=message):
        _import(folder, *args)


def test_a_manifest_without_legal_basis_or_with_subjects_for_the_platform_is_a_usage_error(two_tenants, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,subject\na.jpg,Someone\n")
    with pytest.raises(CommandError, match="legal_basis"):
        _import(manifest, "--tenant", "agency-a")
    with pytest.raises(CommandError, match="subjects"):
        _import(manifest, "--platform", "--legal-basis", "consent")


def test_an_orders_refusal_names_its_reference_once(two_tenants, faces_dir):
    """It used to read "... order DEC-1. (order DEC-1)" (#14, item 4)."""
    from portal.compliance.models import RegulatoryOrder
    from portal.compliance.orders import order_activate, order_create
    from tests.builders import order_fields

    order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"],
                                                     reference="DEC-1")), actor=Actor.system("test"))
    _, err = _import(faces_dir / "obama_2.jpg", "--tenant", "agency-a", "--legal-basis", "law_enforcement",
                     "--region", "FR")
    refused = [line for line in err.splitlines() if line.startswith("REFUSED")]
    assert len(refused) == 1 and refused[0].count("DEC-1") == 1, refused


def test_a_single_picture_is_imported_like_a_folder_of_one(two_tenants, faces_dir):
    """It used to be read as a manifest and failed with a UTF-8 decode error (#14, item 10)."""
    out, _ = _import(faces_dir / "obama_2.jpg", "--tenant", "agency-a", "--legal-basis", "law_enforcement",
                     "--region", "GB")
    assert "Imported 1 picture(s) with 1 face(s)" in out
    with tenant_scope(two_tenants.a.tenant):
        assert list(Image.objects.values_list("region", flat=True)) == ["GB"]
    with pytest.raises(CommandError, match="A picture import needs --legal-basis"):
        _import(faces_dir / "obama_2.jpg", "--tenant", "agency-a")

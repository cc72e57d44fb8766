"""import_images --workers: worker processes detect, this process writes; same result as one worker."""

import multiprocessing
import shutil
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from portal.audit.models import AuditEvent
from portal.gallery.management.commands import import_images
from portal.gallery.models import Face, Image
from tenants.context import dangerously_unscoped, tenant_scope
from tests.faces.pictures import bearded_tilted_jpeg, scene_without_people_jpeg

pytestmark = pytest.mark.django_db

PICTURES = ("obama_1.jpg", "group_kit_rose.jpg", "biden_2.jpg", "alex_lacamoire_3.png", "obama_240p.jpg")


def _import(*args):
    out, err = StringIO(), StringIO()
    call_command("import_images", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def folder(tmp_path, faces_dir):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for name in PICTURES:
        shutil.copy(faces_dir / name, folder / name)
    (folder / "broken.jpg").write_bytes((faces_dir / "obama_2.jpg").read_bytes()[:5000])  # truncated
    (folder / "bearded.jpg").write_bytes(bearded_tilted_jpeg(faces_dir=faces_dir))
    (folder / "landscape.jpg").write_bytes(scene_without_people_jpeg(size=(800, 536)))
    return folder


def _faces_by_picture(tenant):
    with tenant_scope(tenant):
        return {
            (face.image.sha256, face.box): (face.detector, face.confidence, np.asarray(face.embedding))
            for face in Face.objects.select_related("image")
        }


def test_two_workers_give_the_same_faces_and_report_as_one(two_tenants, folder):
    one_out, one_err = _import(folder, "--tenant", "agency-a", "--legal-basis", "law_enforcement",
                               "--workers", "1", "--batch-size", "3")
    two_out, two_err = _import(folder, "--tenant", "retailer-b", "--legal-basis", "consent",
                               "--workers", "2", "--batch-size", "3")

    assert "Imported 6 picture(s) with 7 face(s); 0 already there; new evidence recorded on 0; 0 refused; 2 failed." in one_out
    assert two_out == one_out
    assert sorted(two_err.splitlines()) == sorted(one_err.splitlines())
    assert any(line.startswith("FAILED broken.jpg: The picture looks like JPEG but cannot be read") for line in one_err.splitlines())
    assert any(line.startswith("FAILED landscape.jpg: No face was found") for line in one_err.splitlines())

    one, two = _faces_by_picture(two_tenants.a.tenant), _faces_by_picture(two_tenants.b.tenant)
    assert one.keys() == two.keys() and len(one) == 7
    for key, (detector, confidence, embedding) in one.items():
        assert two[key][0] == detector and two[key][1] == pytest.approx(confidence)
        assert np.allclose(two[key][2], embedding, atol=1e-5)
    assert sorted(detector for detector, _, _ in two.values()) == ["cnn"] + ["hog"] * 6
    with dangerously_unscoped(reason="test"):
        for tenant in (two_tenants.a.tenant, two_tenants.b.tenant):
            assert AuditEvent.objects.filter(tenant=tenant, action="image.ingest").count() == 6


def test_a_rerun_with_workers_detects_nothing_again(two_tenants, folder):
    _import(folder, "--tenant", "agency-a", "--legal-basis", "law_enforcement", "--workers", "2")
    out, _ = _import(folder, "--tenant", "agency-a", "--legal-basis", "law_enforcement", "--workers", "2")
    assert "Imported 0 picture(s) with 0 face(s); 6 already there; new evidence recorded on 0; 0 refused; 2 failed." in out


def test_ctrl_c_keeps_the_written_batches_reports_and_stops_the_workers(two_tenants, folder, monkeypatch):
    """Ctrl-C raises KeyboardInterrupt in this process (the workers ignore it): here it arrives while
    the second batch is being written, as a real one would."""
    original = import_images.image_ingest
    calls = []

    def interrupted_fourth_time(**kwargs):
        calls.append(kwargs["data"])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(**kwargs)

    monkeypatch.setattr(import_images, "image_ingest", interrupted_fourth_time)
    out = StringIO()
    with pytest.raises(CommandError, match=r"Stopped by Ctrl-C: 5 of 8 picture\(s\) not processed") as raised:
        call_command("import_images", str(folder), "--tenant", "agency-a", "--legal-basis", "law_enforcement",
                     "--workers", "2", "--batch-size", "3", "--no-progress", stdout=out, stderr=StringIO())

    assert raised.value.returncode == 130
    # Sorted names: alex, bearded and biden make the first batch; the second (broken, group_kit_rose,
    # landscape) was interrupted at group_kit_rose and rolled back.
    assert "Imported 3 picture(s) with 3 face(s)" in out.getvalue()
    with tenant_scope(two_tenants.a.tenant):
        assert Image.objects.count() == 3 and Face.objects.count() == 3
    assert multiprocessing.active_children() == []

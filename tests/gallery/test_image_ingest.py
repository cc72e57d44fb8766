import pytest
from django.core.files.storage import default_storage

from portal.audit.services import Actor
from portal.faces.errors import CorruptImage, NoFaceFound, UnsupportedImageType
from portal.gallery.models import Face, Image, LegalBasis
from portal.gallery.regions import InvalidRegion, RegionEvidence
from portal.gallery.services import IngestInvalid, image_delete, image_ingest
from portal.search.services import search_run
from portal.search.models import SearchMatch
from tenants.context import dangerously_unscoped, tenant_scope
from tests.builders import AUTHORISED
from tests.faces.pictures import bearded_tilted_jpeg, scene_without_people_jpeg

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _ingest(tenant, faces_dir, filename="obama_1.jpg", **kwargs):
    kwargs.setdefault("legal_basis", LegalBasis.LAW_ENFORCEMENT)
    return image_ingest(tenant=tenant, data=(faces_dir / filename).read_bytes(), actor=ACTOR, **kwargs)


def _row_counts():
    with dangerously_unscoped(reason="test"):
        return Image.objects.count(), Face.objects.count()


def test_ingest_stores_picture_faces_crops_and_provenance(two_tenants, faces_dir):
    result = _ingest(two_tenants.a.tenant, faces_dir, "group_obama_biden_1.jpg",
                     source_url="https://www.lemonde.fr/photo.jpg")
    assert result.created and len(result.faces) == 2
    image = result.image
    assert (image.source_domain, image.region, image.region_evidence) == ("lemonde.fr", "FR", RegionEvidence.SOURCE_DOMAIN)
    assert default_storage.exists(image.file.name)
    assert all(default_storage.exists(face.crop.name) for face in result.faces)
    assert all(face.region == "FR" and face.tenant == two_tenants.a.tenant for face in result.faces)


def test_region_falls_back_to_the_tenant_home_and_declared_wins(two_tenants, faces_dir):
    assert _ingest(two_tenants.b.tenant, faces_dir).image.region == "FR"
    declared = _ingest(two_tenants.b.tenant, faces_dir, "biden_1.jpg", region="us-il").image
    assert (declared.region, declared.region_evidence) == ("US-IL", RegionEvidence.DECLARED)


def test_same_picture_twice_is_stored_once_per_gallery(two_tenants, faces_dir):
    first = _ingest(two_tenants.a.tenant, faces_dir)
    again = _ingest(two_tenants.a.tenant, faces_dir)
    other_gallery = _ingest(two_tenants.b.tenant, faces_dir)
    assert not again.created and again.image.pk == first.image.pk
    assert other_gallery.created
    assert _row_counts() == (2, 2)


@pytest.mark.parametrize("data, error", [
    (b"", CorruptImage), (b"not a picture at all", UnsupportedImageType),
    (b"GIF89a" + b"\x00" * 100, UnsupportedImageType),
])
def test_bad_pictures_are_refused_and_write_nothing(two_tenants, data, error):
    with pytest.raises(error):
        image_ingest(tenant=two_tenants.a.tenant, data=data, actor=ACTOR, legal_basis=LegalBasis.CONSENT)
    assert _row_counts() == (0, 0)


def test_truncated_picture_is_refused(two_tenants, faces_dir):
    data = (faces_dir / "obama_1.jpg").read_bytes()
    with pytest.raises(CorruptImage):
        image_ingest(tenant=two_tenants.a.tenant, data=data[: len(data) // 3], actor=ACTOR, legal_basis="consent")
    assert _row_counts() == (0, 0)


def test_picture_without_a_face_is_refused(two_tenants):
    from io import BytesIO

    from PIL import Image as PILImage

    buffer = BytesIO()
    PILImage.new("RGB", (300, 300), (10, 200, 30)).save(buffer, "PNG")
    with pytest.raises(NoFaceFound):
        image_ingest(tenant=two_tenants.a.tenant, data=buffer.getvalue(), actor=ACTOR, legal_basis="consent")
    assert _row_counts() == (0, 0)


@pytest.mark.parametrize("kwargs, problem", [
    ({"legal_basis": "because"}, IngestInvalid), ({"source_url": "not a url"}, IngestInvalid),
    ({"region": "XX"}, InvalidRegion),
])
def test_bad_provenance_is_refused(two_tenants, faces_dir, kwargs, problem):
    with pytest.raises(problem):
        _ingest(two_tenants.a.tenant, faces_dir, **kwargs)
    assert _row_counts() == (0, 0)


def test_delete_removes_files_crops_faces_and_matches(two_tenants, faces_dir, django_capture_on_commit_callbacks):
    tenant = two_tenants.a.tenant
    result = _ingest(tenant, faces_dir)
    search = search_run(tenant=tenant, actor=ACTOR, probe=(faces_dir / "obama_2.jpg").read_bytes(),
                        case_reference="C", purpose="p", authorisation=AUTHORISED)
    files = [result.image.file.name, *(face.crop.name for face in result.faces)]
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(tenant=tenant, image=result.image, actor=ACTOR)
    assert _row_counts() == (0, 0)
    assert not any(default_storage.exists(name) for name in files)
    with tenant_scope(tenant):
        assert SearchMatch.objects.filter(search=search).count() == 0


def test_another_tenant_cannot_delete_the_image(two_tenants, faces_dir):
    result = _ingest(two_tenants.a.tenant, faces_dir)
    with pytest.raises(Image.DoesNotExist):
        image_delete(tenant=two_tenants.b.tenant, image=result.image, actor=ACTOR)
    assert _row_counts() == (1, 1)


def test_a_face_only_the_cnn_finds_is_stored_and_searched_with_its_detector(two_tenants, faces_dir):
    tenant = two_tenants.a.tenant
    kit = _ingest(tenant, faces_dir, "kit_harington_1.jpg")
    bearded = bearded_tilted_jpeg(faces_dir=faces_dir)

    stored = image_ingest(tenant=tenant, data=bearded, actor=ACTOR, legal_basis=LegalBasis.LAW_ENFORCEMENT)
    # A probe goes through the same fallback: the tilted face finds the same man, found by HOG.
    with tenant_scope(tenant):
        search = search_run(tenant=tenant, actor=ACTOR, probe=bearded, case_reference="C", purpose="p",
                            authorisation=AUTHORISED)
        matched = [match.face.uuid for match in SearchMatch.objects.filter(search=search)]

    assert [face.detector for face in kit.faces] == ["hog"]
    assert [face.detector for face in stored.faces] == ["cnn"]
    with tenant_scope(tenant):
        assert Face.objects.get(pk=stored.faces[0].pk).detector == "cnn"
    assert kit.faces[0].uuid in matched


def test_a_scene_without_people_is_refused_after_both_detectors(two_tenants):
    with pytest.raises(NoFaceFound):
        image_ingest(tenant=two_tenants.a.tenant, data=scene_without_people_jpeg(), actor=ACTOR,
                     legal_basis=LegalBasis.LAW_ENFORCEMENT)
    assert _row_counts() == (0, 0)

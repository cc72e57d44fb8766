"""Thumbnails: made once at ingest, served under the picture's own checks, shown by the gallery
pages instead of the full pictures, deleted with the picture, and made for older pictures by
`thumbnails_make`."""

import io
import re
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from PIL import Image as PILImage

from portal.audit.services import Actor
from portal.faces.imaging import image_decode, thumbnail_jpeg
from portal.gallery.maintenance import files_orphaned_delete
from portal.gallery.models import Image, LegalBasis
from portal.gallery.services import image_delete, subject_create, subject_enrol
from tenants.context import dangerously_unscoped, tenant_scope

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("test")


def _enrolled(tenant, faces_dir, filename="obama_1.jpg", label="Barack Obama"):
    subject = subject_create(tenant=tenant, label=label, actor=ACTOR)
    image = subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=ACTOR,
                          legal_basis=LegalBasis.LAW_ENFORCEMENT).image
    return subject, image


def _decoded(data: bytes) -> PILImage.Image:
    picture = PILImage.open(io.BytesIO(data))
    picture.load()
    return picture


def test_ingest_makes_a_small_jpeg_of_the_whole_picture_without_metadata(two_tenants, faces_dir):
    _, image = _enrolled(two_tenants.a.tenant, faces_dir, "group_obama_biden_1.jpg")
    assert image.thumbnail.name.endswith(f"{image.sha256}.thumb.jpg")
    assert image.thumbnail.name.rsplit("/", 1)[0] == image.file.name.rsplit("/", 1)[0]  # beside the picture
    with default_storage.open(image.thumbnail.name, "rb") as handle:
        data = handle.read()
    thumbnail = _decoded(data)
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320 < max(image.width, image.height)
    assert abs(thumbnail.size[0] / thumbnail.size[1] - image.width / image.height) < 0.01
    assert not thumbnail.getexif() and default_storage.size(image.file.name) > 2 * len(data)


def test_a_picture_smaller_than_a_thumbnail_is_not_enlarged(faces_dir):
    small = io.BytesIO()
    PILImage.open(faces_dir / "obama_240p.jpg").resize((200, 112)).save(small, "PNG")
    picture = image_decode(data=small.getvalue(), max_bytes=10_000_000, max_pixels=10_000_000)
    assert _decoded(thumbnail_jpeg(rgb=picture.rgb)).size == (200, 112)


def test_deleting_the_picture_deletes_its_thumbnail(two_tenants, faces_dir, django_capture_on_commit_callbacks):
    tenant = two_tenants.a.tenant
    _, image = _enrolled(tenant, faces_dir)
    assert default_storage.exists(image.thumbnail.name)
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(tenant=tenant, image=image, actor=ACTOR)
    assert not default_storage.exists(image.thumbnail.name) and not default_storage.exists(image.file.name)


def test_the_orphan_sweep_keeps_a_thumbnail_its_picture_refers_to(two_tenants, faces_dir):
    _, image = _enrolled(two_tenants.a.tenant, faces_dir)
    stray = image.thumbnail.name.replace(".thumb.jpg", ".thumb_old.jpg")
    default_storage.save(stray, io.BytesIO(b"left by a crash"))
    found = files_orphaned_delete(now=timezone.now() + timedelta(days=1))
    assert found["images"] == 1
    assert default_storage.exists(image.thumbnail.name) and not default_storage.exists(stray)


def test_thumbnails_make_fills_in_older_pictures_once(two_tenants, faces_dir):
    _, older = _enrolled(two_tenants.a.tenant, faces_dir)
    _, current = _enrolled(two_tenants.b.tenant, faces_dir, "biden_1.jpg", label="Joe Biden")
    default_storage.delete(older.thumbnail.name)
    with dangerously_unscoped(reason="test: a picture stored before thumbnails existed"):
        Image.objects.filter(pk=older.pk).update(thumbnail="")
    out = io.StringIO()
    call_command("thumbnails_make", stdout=out)
    assert "thumbnails made: 1;" in out.getvalue()
    with dangerously_unscoped(reason="test"):
        older.refresh_from_db()
        assert Image.objects.get(pk=current.pk).thumbnail.name == current.thumbnail.name
    with default_storage.open(older.thumbnail.name, "rb") as handle:
        assert max(_decoded(handle.read()).size) == 320
    again = io.StringIO()
    call_command("thumbnails_make", stdout=again)
    assert "thumbnails made: 0;" in again.getvalue()


def test_thumbnail_is_served_to_its_gallery_only_and_absent_and_foreign_look_alike(client, two_tenants, faces_dir):
    _, image = _enrolled(two_tenants.a.tenant, faces_dir)
    _, foreign = _enrolled(two_tenants.b.tenant, faces_dir, "biden_1.jpg", label="Joe Biden")
    client.force_login(two_tenants.a.investigator)
    own = client.get(f"/t/agency-a/images/{image.public_id}/thumbnail")
    assert own.status_code == 200 and own["Content-Type"] == "image/jpeg"
    assert max(_decoded(own.content).size) == 320
    other = client.get(f"/t/agency-a/images/{foreign.public_id}/thumbnail")
    absent = client.get("/t/agency-a/images/00000000-0000-4000-8000-000000000000/thumbnail")
    assert other.status_code == absent.status_code == 404
    assert b"Not found" in other.content and b"Not found" in absent.content
    with tenant_scope(two_tenants.a.tenant):
        Image.objects.filter(pk=image.pk).update(withheld=True)
    assert client.get(f"/t/agency-a/images/{image.public_id}/thumbnail").status_code == 404


def _img_sources(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)


def test_gallery_and_subject_pages_show_thumbnails_not_the_full_pictures(client, two_tenants, faces_dir):
    subject, image = _enrolled(two_tenants.a.tenant, faces_dir, "group_obama_biden_1.jpg")
    client.force_login(two_tenants.a.investigator)
    thumbnail_url = f"/t/agency-a/images/{image.public_id}/thumbnail"
    full_url = f"/t/agency-a/images/{image.public_id}/picture"
    for url in ("/t/agency-a/subjects/", f"/t/agency-a/subjects/{subject.public_id}/"):
        sources = _img_sources(client.get(url).content.decode())
        assert thumbnail_url in sources, url
        assert full_url not in sources, url
    # The full picture is still one link away on the subject's page.
    assert f'href="{full_url}"' in client.get(f"/t/agency-a/subjects/{subject.public_id}/").content.decode()

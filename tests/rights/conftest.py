"""A gallery of real pictures across three tenants and the platform index, and a helper that
submits a public request as the form does."""

import io
from urllib.parse import urlparse

import pytest
from PIL import Image as PILImage

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.rights.services import request_email_confirm, request_submit
from tests.factories import TenantFactory

SYSTEM = Actor.system("test")
PUBLIC = Actor(label="public request form")


def ingest(tenant, faces_dir, name):
    return image_ingest(tenant=tenant, data=(faces_dir / name).read_bytes(), actor=SYSTEM,
                        legal_basis=LegalBasis.LAW_ENFORCEMENT).image


@pytest.fixture
def rights_gallery(two_tenants, faces_dir):
    """obama in tenants a, b, c (c: in a group picture) and the platform index; others elsewhere."""
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    c = TenantFactory(slug="tenant-c", home_country="DE")
    placed = {"obama": [(a, "obama_2.jpg"), (b, "obama_small.jpg"), (c, "group_obama_biden_1.jpg"),
                        (None, "obama_3.jpg")],
              "others": [(a, "biden_1.jpg"), (b, "kit_harington_1.jpg"), (None, "rose_leslie_1.jpg")]}
    images = {kind: [ingest(t, faces_dir, name) for t, name in items] for kind, items in placed.items()}
    return a, b, c, images


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` runs what waits for the commit (the e-mails) at the end of the block, as
    the commit of a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def blank_picture() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (400, 300), (128, 140, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


def submit(faces_dir, *, kind="erasure", picture="obama_1.jpg", document="obama_4.jpg", email="me@example.test"):
    return request_submit(kind=kind, email=email, picture=(faces_dir / picture).read_bytes(),
                          document=(faces_dir / document).read_bytes(), consent=True, actor=PUBLIC,
                          confirm_url=lambda token: f"http://testserver/requests/confirm/{token}/",
                          status_url=lambda token: f"http://testserver/requests/status/{token}/")


def confirm_from(message) -> None:
    """Follows the confirmation link of the e-mail, as the requester does."""
    token = urlparse(message.link(r"http://testserver/requests/confirm/\S+")).path.rstrip("/").split("/")[-1]
    request_email_confirm(token=token, actor=PUBLIC)


@pytest.fixture
def staff_client(client, user_factory):
    """An operator signed in with a verified TOTP token."""
    from portal.platform.models import SealedTOTPDevice
    from tests.factories import totp_token

    operator = user_factory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    response = client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"})
    assert response.status_code == 302
    return client

"""Face thumbnails for the portal pages, read from storage and never from a public media URL."""

import base64

from django.core.files.storage import default_storage
from django.utils import timezone

from portal.errors import DomainError
from portal.faces.engine import EngineConfig
from portal.faces.imaging import crop_jpeg, image_decode
from portal.search.models import Search
from portal.search.services import search_detect_faces


class ProbeGone(DomainError):
    """The probe picture was purged at the end of the tenant's retention period."""

    code = "not_found"
    status = 404


def probe_available(*, search: Search) -> bool:
    # Past its retention the probe is not shown, even if the purge task has not run yet.
    expired = search.probe_expires_at is not None and search.probe_expires_at <= timezone.now()
    return bool(search.probe and search.probe_face_box) and not expired and not search.results_withheld


def probe_crop_jpeg(*, search: Search, size: int = 240) -> bytes:
    """The searched face, cut from the stored probe the same way gallery crops are cut."""
    if not probe_available(search=search) or not default_storage.exists(search.probe.name):
        raise ProbeGone
    config = EngineConfig.from_settings()
    with default_storage.open(search.probe.name, "rb") as handle:
        picture = image_decode(data=handle.read(), max_bytes=config.max_bytes, max_pixels=config.max_pixels)
    return crop_jpeg(rgb=picture.rgb, box=tuple(search.probe_face_box), size=size)


def stored_file_read(*, name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def probe_faces(*, search: Search) -> list[dict]:
    """Every face of the stored probe, largest first (the numbering search_run's face_index uses),
    each with its crop as a data URI and whether it is the face this search searched."""
    if not probe_available(search=search) or not default_storage.exists(search.probe.name):
        raise ProbeGone
    detection = search_detect_faces(data=stored_file_read(name=search.probe.name))
    searched = tuple(search.probe_face_box)
    return [{"index": index, "searched": tuple(face.box) == searched,
             "crop": "data:image/jpeg;base64," + base64.b64encode(face.crop).decode("ascii")}
            for index, face in enumerate(detection.faces)]

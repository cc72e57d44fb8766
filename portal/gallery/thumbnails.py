"""Thumbnails of pictures stored before thumbnails were made at ingest (image_ingest makes them
for every new picture). The pages that list pictures show these, never the full pictures."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.audit.services import Actor, audit_record
from portal.faces.engine import EngineConfig
from portal.faces.errors import FaceEngineError
from portal.faces.imaging import image_decode, thumbnail_jpeg
from portal.gallery.models import Image
from tenants.context import dangerously_unscoped

logger = logging.getLogger(__name__)


def thumbnails_missing_make(*, batch_size: int = 200) -> dict[str, int]:
    """Makes the thumbnail of every picture, in every gallery, that has none. Idempotent: a
    picture with a thumbnail is left alone, so a second run makes nothing. A picture whose
    original is gone or unreadable is counted and skipped. Returns {"made": n, "failed": n}."""
    config = EngineConfig.from_settings()
    made = failed = 0
    last_id = 0
    with dangerously_unscoped(reason="making the thumbnails missing in every gallery"):
        while True:
            batch = list(Image.objects.filter(thumbnail="", withheld=False, id__gt=last_id).order_by("id")[:batch_size])
            if not batch:
                break
            for image in batch:
                last_id = image.pk
                try:
                    with default_storage.open(image.file.name, "rb") as handle:
                        picture = image_decode(data=handle.read(), max_bytes=config.max_bytes,
                                               max_pixels=config.max_pixels)
                except (FileNotFoundError, FaceEngineError) as error:
                    logger.warning("no thumbnail for image %s: %s", image.public_id, error)
                    failed += 1
                    continue
                image.thumbnail.save("thumb.jpg", ContentFile(thumbnail_jpeg(rgb=picture.rgb)), save=False)
                # Only where still missing: a run beside this one may have made it meanwhile.
                if Image.objects.filter(pk=image.pk, thumbnail="").update(thumbnail=image.thumbnail.name):
                    made += 1
                else:
                    default_storage.delete(image.thumbnail.name)
    if made or failed:
        audit_record(action="thumbnails.make", actor=Actor.system("thumbnails_make"),
                     details={"made": made, "failed": failed})
    return {"made": made, "failed": failed}

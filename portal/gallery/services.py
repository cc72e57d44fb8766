"""Writing to the galleries: ingest pictures with their provenance, enrol subjects, delete."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError

from portal.audit.journal import journal_append
from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.faces.engine import DetectionResult, face_engine
from portal.faces.imaging import EXTENSIONS, thumbnail_jpeg
from portal.faces.errors import NoFaceFound
from portal.gallery.evidence import image_evidence_apply, picture_gps_read
from portal.gallery.gates import ingest_gates_check
from portal.gallery.models import Face, Image, LegalBasis, Subject
from portal.gallery.regions import domain_from_url, region_resolve
from portal.gallery.signals import faces_deleted
from tenants.context import dangerously_unscoped, scope_atomic, scope_on_commit, tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _



class IngestInvalid(DomainError):
    """Provenance that cannot be accepted (names the field)."""


@dataclass(frozen=True)
class IngestResult:
    image: Image
    faces: list[Face]
    created: bool
    evidence_recorded: bool = False  # a picture already held, with provenance it did not have
    withheld_by: str = ""  # the order or opt-out that covers it under that new provenance


@contextmanager
def gallery_scope(*, tenant: Tenant | None):
    """A tenant's own gallery, or (tenant None) the operator's platform index."""
    if tenant is None:
        with dangerously_unscoped(reason="the operator's platform index has no tenant"):
            yield
    else:
        with tenant_scope(tenant):
            yield


def _provenance_check(*, tenant: Tenant | None, legal_basis: str, source_url: str, subject: Subject | None) -> str:
    if legal_basis not in LegalBasis.values:
        raise IngestInvalid(_("legal_basis must be one of %(choices)s, not %(legal_basis)s.") % {"choices": ', '.join(LegalBasis.values), "legal_basis": repr(legal_basis)},
                            field="legal_basis")
    source_domain = ""
    if source_url:
        source_domain = domain_from_url(url=source_url) or ""
        if not source_domain:
            raise IngestInvalid(_("source_url %(source_url)s is not a web address.") % {"source_url": repr(source_url)}, field="source_url")
    if subject is not None and (tenant is None or subject.tenant_id != tenant.pk):
        raise IngestInvalid(_("The subject belongs to another gallery."), field="subject")
    return source_domain


def image_ingest(*, tenant: Tenant | None, data: bytes, actor: Actor, legal_basis: str, source_url: str = "",
                 region: str | None = None, collected_at: datetime | None = None,
                 subject: Subject | None = None, detection: DetectionResult | None = None) -> IngestResult:
    """Detects and embeds the faces of one picture and stores them with its provenance.

    Refuses (writing nothing) a bad or face-less picture, bad provenance, or a picture that an
    active regulatory order or opt-out covers. The same picture twice in one gallery is stored
    once: the second call returns the first image with created=False, and when it declares
    provenance the picture did not have, records it and re-applies the orders in force
    (portal/gallery/evidence.py).
    """
    source_domain = _provenance_check(tenant=tenant, legal_basis=legal_basis, source_url=source_url, subject=subject)
    sha256 = hashlib.sha256(data).hexdigest()
    with gallery_scope(tenant=tenant):
        existing = Image.objects.filter(tenant=tenant, sha256=sha256).first()
    if existing is not None:
        gps = detection.image.gps if detection else picture_gps_read(data=data)
        with gallery_scope(tenant=tenant):
            recorded, withheld_by = image_evidence_apply(
                tenant=tenant, image=existing, actor=actor, legal_basis=legal_basis, source_url=source_url,
                source_domain=source_domain, region=region, gps=gps)
            existing.refresh_from_db()
            return IngestResult(image=existing, faces=list(existing.faces.all()), created=False,
                                evidence_recorded=recorded, withheld_by=withheld_by)

    detection = detection or face_engine().faces_detect(data=data)
    if not detection.faces:
        raise NoFaceFound(_("No face was found in the picture, so there is nothing to add to the gallery."))
    picture = detection.image
    resolved_region, evidence = region_resolve(
        declared=region, gps=picture.gps, source_url=source_url or None,
        tenant_home=tenant.home_country if tenant else None,
    )
    ingest_gates_check(tenant=tenant, region=resolved_region, source_domain=source_domain,
                       embeddings=[face.embedding for face in detection.faces])

    written: list[str] = []
    try:
        with gallery_scope(tenant=tenant), scope_atomic():
            image = Image(
                tenant=tenant, sha256=sha256, width=picture.width, height=picture.height, format=picture.format,
                source_url=source_url, source_domain=source_domain, region=resolved_region,
                region_evidence=evidence, legal_basis=legal_basis, collected_at=collected_at, subject=subject,
                uploaded_by_id=actor.user_id,
            )
            image.file.save(f"{sha256}.{EXTENSIONS[picture.format]}", ContentFile(data), save=False)
            written.append(image.file.name)
            image.thumbnail.save("thumb.jpg", ContentFile(thumbnail_jpeg(rgb=picture.rgb)), save=False)
            written.append(image.thumbnail.name)
            image.save()
            faces = []
            for found in detection.faces:
                face = Face(
                    image=image, tenant=tenant, subject=subject, embedding=found.embedding.tolist(),
                    box_x=found.box[0], box_y=found.box[1], box_w=found.box[2], box_h=found.box[3],
                    confidence=found.confidence, region=resolved_region, source_domain=source_domain,
                    engine=detection.engine, detector=found.detector,
                )
                face.crop.save("crop.jpg", ContentFile(found.crop), save=False)
                written.append(face.crop.name)
                faces.append(face)
            Face.objects.bulk_create(faces)
            audit_record(action="image.ingest", actor=actor, tenant=tenant, target_type="image", target_id=image.public_id,
                         details={"sha256": sha256, "faces": len(faces), "region": resolved_region,
                                  "source_domain": source_domain, "subject": str(subject.public_id) if subject else None})
    except IntegrityError:
        _files_delete(written)
        # The same picture arrived concurrently: the other request stored it.
        with gallery_scope(tenant=tenant):
            image = Image.objects.get(tenant=tenant, sha256=sha256)
            return IngestResult(image=image, faces=list(image.faces.all()), created=False)
    except BaseException:
        _files_delete(written)
        raise
    return IngestResult(image=image, faces=faces, created=True)


def _files_delete(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def image_delete(*, tenant: Tenant | None, image: Image, actor: Actor) -> None:
    """Deletes the picture completely: its file and thumbnail, its faces' crops, its faces and
    every search match pointing at them. Files go once the rows' deletion has committed."""
    with gallery_scope(tenant=tenant), scope_atomic():
        image = Image.objects.select_for_update().get(pk=image.pk, tenant=tenant)
        faces = list(image.faces.values_list("crop", "uuid"))
        names = [image.file.name, image.thumbnail.name, *(crop for crop, _ in faces)]
        face_count = len(faces)
        image_id, sha256 = image.public_id, image.sha256
        image.delete()
        faces_deleted.send(sender=Image, face_uuids=[str(face_uuid) for _, face_uuid in faces],
                           cause={"kind": "erasure", "reference": str(image_id)})
        audit_record(action="image.delete", actor=actor, tenant=tenant, target_type="image", target_id=image_id,
                     details={"faces": face_count})
        # A restore of an older backup deletes it again (portal/core/restores.py).
        journal_append(kind="image.delete", data={"tenant_id": tenant.pk if tenant else None, "sha256": sha256})
        scope_on_commit(lambda: _files_delete(names))


def subject_create(*, tenant: Tenant, label: str, actor: Actor, notes: str = "", reference: str = "") -> Subject:
    label = label.strip()
    if not label:
        raise IngestInvalid(_("A subject needs a label."), field="label")
    with tenant_scope(tenant):
        subject = Subject.objects.create(tenant=tenant, label=label[:200], notes=notes, reference=reference[:100],
                                         created_by_id=actor.user_id)
        audit_record(action="subject.create", actor=actor, tenant=tenant, target_type="subject", target_id=subject.public_id)
    return subject


def subject_update(*, tenant: Tenant, subject: Subject, actor: Actor, label: str | None = None,
                   notes: str | None = None, reference: str | None = None) -> Subject:
    with tenant_scope(tenant):
        subject = Subject.objects.get(pk=subject.pk)
        if label is not None:
            if not label.strip():
                raise IngestInvalid(_("A subject needs a label."), field="label")
            subject.label = label.strip()[:200]
        if notes is not None:
            subject.notes = notes
        if reference is not None:
            subject.reference = reference[:100]
        subject.save()
        audit_record(action="subject.update", actor=actor, tenant=tenant, target_type="subject", target_id=subject.public_id)
    return subject


def subject_delete(*, tenant: Tenant, subject: Subject, actor: Actor) -> None:
    """Deletes the subject and the pictures enrolled for it (with their faces, crops and matches)."""
    with tenant_scope(tenant):
        subject = Subject.objects.get(pk=subject.pk)
        for image in Image.objects.filter(subject=subject):
            image_delete(tenant=tenant, image=image, actor=actor)
        subject_id = subject.public_id
        subject.delete()
        audit_record(action="subject.delete", actor=actor, tenant=tenant, target_type="subject", target_id=subject_id)


def subject_enrol(*, tenant: Tenant, subject: Subject, data: bytes, actor: Actor, legal_basis: str,
                  source_url: str = "", region: str | None = None,
                  collected_at: datetime | None = None) -> IngestResult:
    return image_ingest(tenant=tenant, data=data, actor=actor, legal_basis=legal_basis, source_url=source_url,
                        region=region, collected_at=collected_at, subject=subject)

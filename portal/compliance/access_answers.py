"""The answer to a person's access request (GDPR Art. 15): a copy of every picture held of them,
with its source, region and evidence, legal basis and dates, the gallery that holds it, and its
recipients (the tenants that were shown the face), as a PDF and a ZIP (the PDF, the pictures and
a JSON twin of the same data).

Every gallery is searched, the platform index and each tenant's, exactly (a sequential scan, not
the approximate HNSW index: an answer that missed a picture would be wrong). The platform index's
part is the operator's to give; a tenant's part (its pictures and their disclosures) appears only
once that tenant released it, and the answer names the tenants whose part is withheld, pending
their decision or refused, without anything of its content. Faces an order or an erasure covers
are still held until enforcement deletes them, so they appear, marked as being erased.

Other people's faces in a picture are blurred (access_answer_pictures.py): the copy shows the
requester, not them (Art. 15(4))."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.compliance.access_answer_pdf import access_answer_pdf_render
from portal.compliance.access_answer_pictures import BlurredCopy, picture_others_blurred
from portal.errors import DomainError
from portal.gallery.models import Face, Image, ImageEvidence, LegalBasis
from portal.gallery.regions import RegionEvidence
from portal.search.models import FaceDisclosure
from tenants.context import dangerously_unscoped, scope_connection
from tenants.models import Tenant

PLATFORM = "platform"


class AccessAnswerInvalid(DomainError):
    """An access answer that cannot be built as asked (names the argument at fault)."""


@dataclass(frozen=True)
class AccessAnswer:
    pdf: bytes
    zip: bytes
    data: dict  # the JSON twin, as in the ZIP
    # For the operator, never shown to the requester: per gallery ("platform" or the tenant's
    # slug), pictures found and pictures included in the answer.
    summary: dict = field(default_factory=dict)


@dataclass
class _Held:
    image: Image
    faces: list[Face]
    own_face_ids: set[int]
    similarity: float


def access_answer_build(*, embeddings: list[np.ndarray], threshold: float, released_tenant_ids: set[int],
                        reference: str, received_at: datetime, language: str = "en",
                        refused_tenant_grounds: dict[int, str] | None = None,
                        answered_at: datetime | None = None) -> AccessAnswer:
    """The answer for the person whose face `embeddings` are (verified by the caller).

    `released_tenant_ids`: tenants that released their part; `refused_tenant_grounds`: tenants
    that refused, with the legal ground they recorded (given to the requester, Art. 12(4)). Any
    other tenant holding pictures of the person is listed as pending its decision."""
    refused = dict(refused_tenant_grounds or {})
    _arguments_check(embeddings=embeddings, threshold=threshold, reference=reference, language=language,
                     released=released_tenant_ids, refused=refused)
    answered_at = answered_at or timezone.now()
    with translation.override(language):  # every label, the evidence's too, in the requester's language
        return _build(embeddings=embeddings, threshold=threshold, released=released_tenant_ids, refused=refused,
                      reference=reference, received_at=received_at, answered_at=answered_at, language=language)


def _build(*, embeddings, threshold, released, refused, reference, received_at, answered_at, language) -> AccessAnswer:
    with dangerously_unscoped(reason="an access answer (GDPR Art. 15) searches every gallery"):
        held = _pictures_held(embeddings=embeddings, threshold=threshold)
        tenant_ids = {h.image.tenant_id for h in held if h.image.tenant_id is not None}
        tenants = Tenant.objects.in_bulk(tenant_ids)
        shown = [h for h in held if h.image.tenant_id is None or h.image.tenant_id in released]
        evidence = _evidence_of([h.image.pk for h in shown])
        recipients = _recipients_of(shown)
        recipient_tenants = Tenant.objects.in_bulk({r["tenant_id"] for rows in recipients.values() for r in rows})
    copies: dict[str, BlurredCopy] = {}
    entries = []
    for number, item in enumerate(shown, start=1):
        name = f"pictures/{number:03d}-{item.image.public_id}.jpg"
        copy = _blurred_copy(item)
        if copy is not None:
            copies[name] = copy
        entries.append(_entry(item=item, file=name if copy else None, tenants=tenants,
                              evidence=evidence.get(item.image.pk, []),
                              recipients=recipients.get(item.image.pk, []), recipient_tenants=recipient_tenants))
    withheld = _withheld(tenants=tenants, released=released, refused=refused)
    data = {
        "reference": reference.strip(),
        "language": language,
        "received_at": received_at.isoformat(),
        "answered_at": answered_at.isoformat(),
        "threshold": threshold,
        "nothing_held": not held,
        "pictures": entries,
        "withheld": withheld,
        "texts": _texts(held=held, withheld=withheld),
    }
    pdf = access_answer_pdf_render(data=data, pictures={name: copy.page for name, copy in copies.items()})
    return AccessAnswer(pdf=pdf, zip=_zip(data=data, pdf=pdf, pictures={n: c.picture for n, c in copies.items()}),
                        data=data,
                        summary=_summary(held=held, shown=shown, tenants=tenants))


def _arguments_check(*, embeddings, threshold, reference, language, released, refused) -> None:
    if not embeddings:
        raise AccessAnswerInvalid(_("At least one face of the person is needed."), field="embeddings")
    if any(np.asarray(e).shape != (128,) for e in embeddings):
        raise AccessAnswerInvalid(_("A face embedding has the wrong size."), field="embeddings")
    strong = settings.SEARCH_STRONG_THRESHOLD
    if not strong <= threshold < 1:
        # Below the strong band, other people's pictures would be handed to the requester.
        raise AccessAnswerInvalid(_("The threshold must be at least the strong band's, %(strong)s, and below 1.")
                                  % {"strong": strong}, field="threshold")
    if not reference.strip():
        raise AccessAnswerInvalid(_("The request's reference is required."), field="reference")
    if language not in dict(settings.LANGUAGES):
        raise AccessAnswerInvalid(_("Unknown language %(language)s.") % {"language": language}, field="language")
    if set(released) & set(refused):
        raise AccessAnswerInvalid(_("A tenant cannot both release and refuse its part."),
                                  field="refused_tenant_grounds")


def _pictures_held(*, embeddings: list[np.ndarray], threshold: float) -> list[_Held]:
    """Every picture, in every gallery, with a face within `threshold` of one of the embeddings;
    withheld ones too (still held until deleted). The platform index first, then by gallery."""
    with scope_connection().cursor() as cursor:
        cursor.execute(
            "SELECT f.id, f.image_id, MIN(f.embedding <=> c.embedding)"
            " FROM gallery_face f CROSS JOIN unnest(%s::vector[]) c (embedding)"
            " WHERE (f.embedding <=> c.embedding) < %s GROUP BY f.id, f.image_id",
            [[np.asarray(e, dtype=np.float32) for e in embeddings], 1.0 - float(threshold)])
        matched = cursor.fetchall()
    own: dict[int, set[int]] = defaultdict(set)
    best: dict[int, float] = {}
    for face_id, image_id, distance in matched:
        own[image_id].add(face_id)
        best[image_id] = max(best.get(image_id, 0.0), 1.0 - float(distance))
    images = Image.objects.filter(pk__in=list(own)).order_by("tenant_id", "created_at", "id")
    faces: dict[int, list[Face]] = defaultdict(list)
    for face in Face.objects.filter(image_id__in=list(own)).order_by("id"):
        faces[face.image_id].append(face)
    held = [_Held(image=i, faces=faces[i.pk], own_face_ids=own[i.pk], similarity=best[i.pk]) for i in images]
    return sorted(held, key=lambda h: h.image.tenant_id is not None)  # stable: platform index first


def _evidence_of(image_ids: list[int]) -> dict[int, list[dict]]:
    rows: dict[int, list[dict]] = defaultdict(list)
    for row in ImageEvidence.objects.filter(image_id__in=image_ids).order_by("declared_at", "id"):
        rows[row.image_id].append({
            "source_url": row.source_url, "source_domain": row.source_domain, "region": row.region or None,
            "region_evidence": row.region_evidence, "region_evidence_label": _label(RegionEvidence, row.region_evidence),
            "legal_basis": row.legal_basis, "legal_basis_label": _label(LegalBasis, row.legal_basis),
            "declared_at": row.declared_at.isoformat()})
    return rows


def _recipients_of(shown: list[_Held]) -> dict[int, list[dict]]:
    """Per image, each disclosure of the person's own face in it to a tenant: who, how, when.
    The search and its case reference are the recipient's (an investigation's) and are not given."""
    image_of = {f.uuid: h.image.pk for h in shown for f in h.faces if f.pk in h.own_face_ids}
    rows: dict[int, list[dict]] = defaultdict(list)
    for disclosure in FaceDisclosure.objects.filter(face_uuid__in=list(image_of)).order_by("created_at", "id"):
        rows[image_of[disclosure.face_uuid]].append({"tenant_id": disclosure.tenant_id, "via": disclosure.via,
                                                     "at": disclosure.created_at})
    return rows


def _blurred_copy(item: _Held) -> BlurredCopy | None:
    try:
        with default_storage.open(item.image.file.name, "rb") as stored:
            data = stored.read()
    except (OSError, ValueError):
        return None  # deleted by enforcement since the search: the entry says so
    keep = [f.box for f in item.faces if f.pk in item.own_face_ids]
    blur = [f.box for f in item.faces if f.pk not in item.own_face_ids]
    return picture_others_blurred(data=data, keep=keep, blur=blur)


def _gallery_name(tenant_id: int | None, tenants: dict) -> str:
    if tenant_id is None:
        return _("Platform index (the operator's)")
    return tenants[tenant_id].name


def _label(choices, code) -> str:
    return str(dict(choices.choices).get(code, code or "—"))


def _entry(*, item: _Held, file: str | None, tenants: dict, evidence: list[dict], recipients: list[dict],
           recipient_tenants: dict) -> dict:
    image = item.image
    being_erased = image.withheld or any(f.withheld for f in item.faces if f.pk in item.own_face_ids)
    return {
        "id": str(image.public_id),
        "gallery": PLATFORM if image.tenant_id is None else "tenant",
        "held_by": _gallery_name(image.tenant_id, tenants),
        "source_url": image.source_url, "source_domain": image.source_domain,
        "region": image.region or None,
        "region_evidence": image.region_evidence, "region_evidence_label": _label(RegionEvidence, image.region_evidence),
        "legal_basis": image.legal_basis, "legal_basis_label": _label(LegalBasis, image.legal_basis),
        "collected_at": image.collected_at.isoformat() if image.collected_at else None,
        "added_at": image.created_at.isoformat(),
        "similarity": round(item.similarity, 3),
        "faces_in_picture": len(item.faces),
        "other_faces_blurred": len(item.faces) - len(item.own_face_ids),
        "being_erased": being_erased,
        "status_label": _("Being erased (covered by an order or an erasure)") if being_erased else _("Held"),
        "evidence": evidence,
        "recipients": [{"tenant": recipient_tenants[r["tenant_id"]].name if r["tenant_id"] in recipient_tenants
                        else _("a former customer"), "via": r["via"],
                        "via_label": _label(FaceDisclosure.Via, r["via"]), "at": r["at"].isoformat()}
                       for r in recipients],
        "file": file,
    }


def _withheld(*, tenants: dict, released: set[int], refused: dict[int, str]) -> list[dict]:
    rows = []
    for tenant_id, tenant in sorted(tenants.items(), key=lambda pair: pair[1].name):
        if tenant_id in released:
            continue
        if tenant_id in refused:
            rows.append({"held_by": tenant.name, "status": "refused", "ground": refused[tenant_id],
                         "status_label": _("Refused by its controller")})
        else:
            rows.append({"held_by": tenant.name, "status": "pending", "ground": "",
                         "status_label": _("Pending its controller's decision")})
    return rows


def _summary(*, held: list[_Held], shown: list[_Held], tenants: dict) -> dict:
    counts: dict[str, dict] = {}
    for items, key in ((held, "found"), (shown, "included")):
        for item in items:
            slug = PLATFORM if item.image.tenant_id is None else tenants[item.image.tenant_id].slug
            counts.setdefault(slug, {"found": 0, "included": 0})[key] += 1
    return {"galleries": counts, "found": len(held), "included": len(shown)}


def _texts(*, held: list[_Held], withheld: list[dict]) -> dict:
    """The prose around the data, in the requester's language (in the JSON too, so both say the same)."""
    texts = {
        "title": _("Your access request: the pictures we hold of you"),
        "basis": _("This answer is given under Article 15 of the General Data Protection Regulation (GDPR): "
                   "a copy of the personal data held about you, where it came from, and to whom it was "
                   "disclosed. Other people's faces in the pictures are blurred to protect them."),
        "pictures_blurred": _("Each picture is given in the ZIP file with every other face blurred; your "
                              "own face is left clear."),
    }
    if not held:
        texts["nothing"] = _("We searched the platform index and every customer's gallery: no picture of "
                             "you is held.")
    elif withheld:
        texts["withheld"] = _("Some customers hold pictures matching your face. Each is the controller of its "
                              "own gallery and decides on its part of this answer; their part is not "
                              "included until they release it.")
    return texts


def _zip(*, data: dict, pdf: bytes, pictures: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("access-answer.pdf", pdf)
        archive.writestr("access-answer.json", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        for name, picture in pictures.items():
            archive.writestr(name, picture)
    return out.getvalue()

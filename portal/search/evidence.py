"""Evidence packs: a confirmed match, exported as a PDF or its JSON twin, recorded as a disclosure.

Nothing leaves unconfirmed: `evidence_pack_export` refuses a match that the review rule
(portal/search/reviews.py) does not call confirmed. A pack holds the probe, the match, its
similarity, band and provenance, every verdict with its reviewer, reason and time, the search's
case reference and purpose, and the audit chain position of each event, its own export included.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit.models import AuditEvent
from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.faces.engine import EngineConfig
from portal.faces.imaging import crop_jpeg, image_decode
from portal.search.access import search_access_record
from portal.search.evidence_pdf import evidence_pdf_render
from portal.search.models import Authorisation, Disclosure, FaceDisclosure, Search, SearchAccess, SearchMatch
from portal.search.recalls import face_disclosures_record
from portal.search.reviews import ReviewState, match_review_state
from tenants.models import Tenant

NOTICE = gettext_lazy("A face search result is an investigative lead, not an identification. This match was verified and "
          "confirmed by the reviewers named here (EU AI Act, Art. 14(5)); it still needs corroboration by other "
          "evidence before any action is taken.")


class ExportRefused(DomainError):
    code = "unconfirmed_lead"
    status = 409


@dataclass(frozen=True)
class EvidencePack:
    content: bytes
    content_type: str
    filename: str
    disclosure: Disclosure


def _probe_jpeg(*, search: Search) -> bytes | None:
    """The searched face, cut from the stored probe as the portal's thumbnails are; None once the
    probe is past its retention."""
    expired = search.probe_expires_at is not None and search.probe_expires_at <= timezone.now()
    if expired or not search.probe or not search.probe_face_box or not default_storage.exists(search.probe.name):
        return None
    config = EngineConfig.from_settings()
    with default_storage.open(search.probe.name, "rb") as handle:
        picture = image_decode(data=handle.read(), max_bytes=config.max_bytes, max_pixels=config.max_pixels)
    return crop_jpeg(rgb=picture.rgb, box=tuple(search.probe_face_box), size=240)


def _crop_jpeg(*, match: SearchMatch) -> bytes | None:
    name = match.face.crop.name
    if not name or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data else None


def _search_run_position(*, tenant: Tenant, search: Search) -> int | None:
    return (AuditEvent.objects.filter(tenant=tenant, action="search.run", target_type="search",
                                      target_id=str(search.public_id))
            .values_list("position", flat=True).first())


def _authorisation_data(search: Search) -> dict:
    return {"status": search.authorisation, "urgent": search.urgent, "authority": search.authorisation_authority,
            "reference": search.authorisation_reference,
            "date": search.authorisation_date.isoformat() if search.authorisation_date else None,
            "recorded_at": search.authorisation_recorded_at.isoformat() if search.authorisation_recorded_at else None}


def evidence_pack_data(*, tenant: Tenant, search: Search, match: SearchMatch, review: ReviewState,
                       disclosure: Disclosure, probe: bytes | None, crop: bytes | None) -> dict:
    face, image = match.face, match.face.image
    subject = face.subject if face.subject_id and face.tenant_id else None
    return {
        "kind": "evidence_pack",
        "version": 1,
        "notice": str(NOTICE),
        "tenant": {"name": tenant.name, "slug": tenant.slug},
        "export": {"id": str(disclosure.public_id), "format": disclosure.format, "by": disclosure.actor_label,
                   "at": disclosure.created_at.isoformat(), "audit_position": disclosure.audit_position},
        "search": {
            "id": str(search.public_id), "case_reference": search.case_reference, "purpose": search.purpose,
            "authorisation": _authorisation_data(search),
            "run_by": search.actor_label, "run_at": search.created_at.isoformat(),
            "threshold": search.threshold, "k": search.k, "include_platform_index": search.include_platform_index,
            "audit_position": _search_run_position(tenant=tenant, search=search),
        },
        "probe": {"sha256": search.probe_sha256, "face_box": search.probe_face_box, "crop_jpeg_base64": _b64(probe)},
        "match": {
            "id": str(match.public_id), "rank": match.rank, "similarity": round(match.similarity, 4),
            "band": match.band, "face_uuid": str(face.uuid), "detector": face.detector,
            "subject": {"label": subject.label, "reference": subject.reference} if subject else None,
            "image_id": str(image.public_id) if image.tenant_id else None,
            "in_platform_index": image.tenant_id is None,
            "provenance": {
                "source_url": image.source_url, "source_domain": image.source_domain, "region": image.region,
                "region_evidence": image.region_evidence, "legal_basis": image.legal_basis,
                "collected_at": image.collected_at.isoformat() if image.collected_at else None,
                "added_at": image.created_at.isoformat(),
            },
            "crop_jpeg_base64": _b64(crop),
        },
        "review": {
            "state": review.state, "confirmations_required": review.required, "confirmed_by": list(review.confirmers),
            "verdicts": [{"reviewer": v.reviewer_label, "verdict": v.verdict, "reason": v.reason,
                          "at": v.created_at.isoformat(), "audit_position": v.audit_position}
                         for v in review.verdicts],
        },
    }


@transaction.atomic
def evidence_pack_export(*, tenant: Tenant, search: Search, match: SearchMatch, format: str, via: str,
                         actor: Actor) -> EvidencePack:
    """The evidence pack of a confirmed match, as `format` ("pdf" or "json"). Records the export
    as a disclosure and a view, and audits it (`evidence.export`). Call it in the tenant's scope
    with a match from `reviews.match_get`; an unconfirmed match raises ExportRefused."""
    if format not in Disclosure.Format.values:
        raise DomainError(_("The format is pdf or json."), field="format")
    if search.authorisation == Authorisation.PENDING:
        raise ExportRefused(_("Not exported: this urgent search awaits its authorisation (EU AI Act Art. 26(10)). "
                              "Record it first."))
    review = match_review_state(tenant=tenant, search=search, match=match)
    if not review.confirmed:
        raise ExportRefused(_("Not exported: this match is an unconfirmed lead. It can be exported once "
                              "%(required)d reviewers have confirmed it.") % {"required": review.required})
    position = audit_record(action="evidence.export", actor=actor, tenant=tenant, target_type="search_match",
                            target_id=match.public_id,
                            details={"search": search.public_id, "rank": match.rank, "format": format,
                                     "faces": [match.face.uuid]})
    disclosure = Disclosure.objects.create(
        tenant=tenant, search=search, match_public_ids=[match.public_id], face_uuids=[match.face.uuid], format=format,
        actor_user_id=actor.user_id, actor_api_key_id=actor.api_key_id, actor_label=actor.label[:200],
        audit_position=position.position)
    search_access_record(tenant=tenant, search=search, what=SearchAccess.What.EVIDENCE, via=via, actor=actor)
    face_disclosures_record(tenant=tenant, search=search, via=FaceDisclosure.Via.EVIDENCE,
                            faces=[(match.face.uuid, match.face.image.public_id)])
    probe, crop = _probe_jpeg(search=search), _crop_jpeg(match=match)
    data = evidence_pack_data(tenant=tenant, search=search, match=match, review=review, disclosure=disclosure,
                              probe=probe, crop=crop)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"evidence-{search.case_reference or 'search'}-{match.rank}")
    if format == Disclosure.Format.JSON:
        return EvidencePack(content=json.dumps(data, indent=2).encode(), content_type="application/json",
                            filename=f"{stem}.json", disclosure=disclosure)
    return EvidencePack(content=evidence_pdf_render(data=data, probe=probe, crop=crop), content_type="application/pdf",
                        filename=f"{stem}.pdf", disclosure=disclosure)

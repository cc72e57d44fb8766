"""Delivering the access answer (GDPR Art. 15) to the requester, behind their status link.

The answer is built when the requester downloads it (portal/compliance/access_answers.py), from
the verified face and the controllers' decisions as they stand: the platform index's part once the
operator released it, each tenant's part once that tenant released it, the others named as pending
or refused. Nothing of the answer is stored; so a tenant's release that comes later shows in the
next download, and no copy of the person's pictures is left behind on the portal.

The link works for ANSWER_AVAILABLE_DAYS after the request was answered (or, while tenants still
decide, after the operator released the platform's part). Then the answer expires: the status page
says so and the requester's face, kept only to build the answer, is deleted by the daily task.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.compliance.access_answers import AccessAnswer, access_answer_build
from portal.rights.models import DataSubjectRequest, ForwardedRequest, RequestFace, RequestKind
from portal.rights.selectors import access_answer_inputs
from tenants.context import dangerously_unscoped

ANSWER_AVAILABLE_DAYS = 30
Decision = DataSubjectRequest.Decision


class AnswerState:
    NONE = "none"          # not an access request, or the platform's part not released (yet)
    READY = "ready"
    EXPIRED = "expired"


def answer_available_until(request: DataSubjectRequest) -> datetime | None:
    if request.kind != RequestKind.ACCESS or request.platform_decision != Decision.RELEASED:
        return None
    start = request.answered_at or request.platform_decided_at
    return start + timedelta(days=ANSWER_AVAILABLE_DAYS) if start else None


def answer_state(request: DataSubjectRequest) -> str:
    until = answer_available_until(request)
    if until is None:
        return AnswerState.NONE
    return AnswerState.READY if timezone.now() < until else AnswerState.EXPIRED


def access_answer_for(*, request: DataSubjectRequest, language: str, actor: Actor) -> AccessAnswer:
    """The answer as the controllers' decisions stand now; the caller checked answer_state()."""
    inputs = access_answer_inputs(request=request)
    with dangerously_unscoped(reason="the grounds of tenants' refusals, for an access answer"):
        refused = {row.tenant_id: row.get_ground_display()
                   for row in ForwardedRequest.objects.filter(request_id=request.pk,
                                                              status=ForwardedRequest.Status.REFUSED)}
    answer = access_answer_build(
        embeddings=inputs["embeddings"], released_tenant_ids=set(inputs["released_tenant_ids"]),
        # Never below the strong band: a weaker match would hand the requester someone else's picture.
        threshold=max(inputs["threshold"], settings.SEARCH_STRONG_THRESHOLD),
        refused_tenant_grounds=refused, reference=request.reference, received_at=request.received_at,
        answered_at=request.answered_at, language=language)
    with dangerously_unscoped(reason="recording an access answer's download"):
        audit_record(action="request.answer_download", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference, "language": language,
                              "released_tenants": sorted(inputs["released_tenant_ids"]),
                              "pictures": len(answer.data["pictures"])})
    return answer


@dangerously_unscoped(reason="platform code: expired access answers")
def access_answers_expire() -> list[str]:
    """Deletes the face kept to build each expired access answer (the daily task); returns the
    references concerned."""
    expired = []
    candidates = DataSubjectRequest.objects.filter(kind=RequestKind.ACCESS, platform_decision=Decision.RELEASED,
                                                   faces__isnull=False).distinct()
    for request in candidates:
        if answer_state(request) == AnswerState.EXPIRED:
            deleted, _by_model = RequestFace.objects.filter(request=request).delete()
            audit_record(action="request.answer_expired", actor=Actor.system("data subjects' requests"),
                         target_type="request", target_id=request.pk,
                         details={"reference": request.reference, "faces_deleted": deleted})
            expired.append(request.reference)
    return expired

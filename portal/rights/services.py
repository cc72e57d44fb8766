"""Receiving a data subject's request: the public form, the e-mail confirmation, the operator's
verification of the requester and, once verified, the search that forwards the request to each
tenant whose gallery holds the person's faces.

Order of things, each a rule: the request picture holds exactly one face (else nothing is stored);
suppression from the platform index starts on receipt, for the kinds that ask to stop processing;
nothing is searched or forwarded before the e-mail is confirmed and the operator verified the
requester against an identity document, whose picture is deleted as soon as the operator decided.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.compliance.models import OptOut
from portal.compliance.opt_outs import opt_out_create, opt_out_reject
from portal.compliance.orders import DEFAULT_SUBJECT_THRESHOLD
from portal.errors import DomainError
from portal.faces.engine import face_engine
from portal.faces.errors import FaceEngineError, NoFaceFound
from portal.gallery.regions import InvalidRegion, region_normalise
from portal.rights.forwarding import request_forward
from portal.rights.models import STOPPING_KINDS, DataSubjectRequest, RequestFace, RequestKind
from tenants.context import dangerously_unscoped, scope_atomic, scope_on_commit

Status = DataSubjectRequest.Status


class RequestInvalid(DomainError):
    code = "request_invalid"


class RequestNotFound(DomainError):
    code = "not_found"
    status = 404


class RequestStateError(DomainError):
    code = "request_state"
    status = 409


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def deadline_of(received_at) -> "date":  # noqa: F821  (a datetime.date)
    """One calendar month after receipt (GDPR Art. 12(3)); 31 January gives 28 or 29 February."""
    return timezone.localdate(received_at) + relativedelta(months=1)


@dataclass(frozen=True)
class Submitted:
    request: DataSubjectRequest
    status_token: str  # shown once, on the page after the form, and sent by e-mail


def _faces(*, data: bytes, field: str):
    try:
        detection = face_engine().faces_detect(data=data)
    except FaceEngineError as error:
        error.field = field
        raise
    return detection


def _one_face(*, data: bytes, field: str, what: str):
    detection = _faces(data=data, field=field)
    if not detection.faces:
        raise NoFaceFound(_("No face was found in %(what)s. Use a photo where the face is clearly visible, "
                            "facing the camera.") % {"what": what}, field=field)
    if len(detection.faces) > 1:
        raise RequestInvalid(_("%(count)s faces were found in %(what)s; it must show only you.")
                             % {"count": len(detection.faces), "what": what}, field=field)
    return detection.faces[0], detection.image.sha256


def request_submit(*, kind: str, email: str, picture: bytes, document: bytes, consent: bool, actor: Actor,
                   confirm_url: Callable[[str], str], status_url: Callable[[str], str], full_name: str = "",
                   region: str = "") -> Submitted:
    """Records a public request and e-mails the confirmation link. Bad input (unknown kind, no
    address, no consent, a picture without exactly one face, a document without a face) changes
    nothing. The kinds that ask to stop processing are suppressed from the platform index at once."""
    if kind not in RequestKind.values:
        raise RequestInvalid(_("Choose what you ask for."), field="kind")
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise RequestInvalid(_("An e-mail address is needed to confirm the request and reply to it."), field="email")
    if not consent:
        raise RequestInvalid(_("Consent to keep the template of your face while the request is handled is required."),
                             field="consent")
    if region:
        try:
            region = region_normalise(code=region)
        except InvalidRegion as error:
            raise RequestInvalid(str(error), field="region") from error
    # The face engine runs first, outside any transaction; then the platform writes.
    face, sha = _one_face(data=picture, field="picture", what=_("the picture of your face"))
    # The document's largest face: an identity card may carry a second, small "ghost" portrait.
    document_faces = _faces(data=document, field="document").faces
    if not document_faces:
        raise NoFaceFound(_("No face was found in %(what)s. Use a photo where the face is clearly visible, "
                            "facing the camera.") % {"what": _("the identity document")}, field="document")
    document_face = document_faces[0]
    similarity = float(np.dot(face.embedding, document_face.embedding)
                       / (np.linalg.norm(face.embedding) * np.linalg.norm(document_face.embedding)))
    email_token, status_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = timezone.now()
    opt_out = None
    if kind in STOPPING_KINDS:
        # Suppression from the platform index, from now (portal/compliance/gates.py).
        opt_out = opt_out_create(pictures=[picture], contact=email, consent=True, channel=OptOut.Channel.PUBLIC_FORM,
                                 actor=actor, region=region, full_name=full_name,
                                 notes=f"Public request ({kind}).")
    with dangerously_unscoped(reason="recording a data subject's request"), scope_atomic():
        request = DataSubjectRequest.objects.create(
            kind=kind, email=email, full_name=full_name.strip()[:200], region=region,
            email_token_hash=token_hash(email_token), status_token_hash=token_hash(status_token),
            received_at=now, deadline=deadline_of(now), match_threshold=DEFAULT_SUBJECT_THRESHOLD,
            document_similarity=similarity, opt_out=opt_out)
        folder = f"rights/{request.public_id}"
        request.request_face_crop = default_storage.save(f"{folder}/face.jpg", ContentFile(face.crop))
        request.document_picture = default_storage.save(f"{folder}/document", ContentFile(document))
        request.document_face_crop = default_storage.save(f"{folder}/document-face.jpg", ContentFile(document_face.crop))
        request.save(update_fields=["request_face_crop", "document_picture", "document_face_crop"])
        RequestFace.objects.create(request=request, embedding=face.embedding.tolist(), picture_sha256=sha)
        audit_record(action="request.receive", actor=actor, target_type="request", target_id=request.pk,
                     details={"kind": kind, "reference": request.reference, "suppressed": opt_out is not None,
                              "deadline": request.deadline.isoformat()})
        subject = _("Confirm your request %(reference)s") % {"reference": request.reference}
        body = _("We received your request (%(kind)s), reference %(reference)s.\n\n"
                 "Confirm your e-mail address by following this link; nothing is searched before you do:\n"
                 "%(confirm)s\n\n"
                 "Follow your request's progress here (keep this link to yourself):\n%(status)s\n\n"
                 "We answer by %(deadline)s at the latest.") % {
            "kind": request.get_kind_display(), "reference": request.reference,
            "confirm": confirm_url(email_token), "status": status_url(status_token),
            "deadline": request.deadline.isoformat()}
        scope_on_commit(lambda: send_mail(subject, body, None, [email]))
    return Submitted(request=request, status_token=status_token)


def request_by_status_token(*, token: str) -> DataSubjectRequest:
    """The request a status link names; a forged or unknown link is not found, like any absent id."""
    with dangerously_unscoped(reason="a requester reads their request's status"):
        try:
            return DataSubjectRequest.objects.get(status_token_hash=token_hash(token))
        except DataSubjectRequest.DoesNotExist:
            raise RequestNotFound(_("No request has this link.")) from None


def request_email_confirm(*, token: str, actor: Actor) -> DataSubjectRequest:
    """The requester followed the e-mailed link: the request waits for the operator's verification."""
    with dangerously_unscoped(reason="a requester confirms their e-mail address"), scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().filter(email_token_hash=token_hash(token)).first()
        if request is None:
            raise RequestNotFound(_("This confirmation link is not valid."))
        if request.status != Status.AWAITING_EMAIL:
            return request  # followed twice: nothing more to do
        request.status, request.email_confirmed_at = Status.AWAITING_VERIFICATION, timezone.now()
        request.save(update_fields=["status", "email_confirmed_at"])
        audit_record(action="request.email_confirm", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference})
    return request


def _verification_files_delete(request: DataSubjectRequest) -> None:
    """The identity document is kept only until the operator decided (docs/compliance.md)."""
    for name in (request.request_face_crop, request.document_picture, request.document_face_crop):
        if name:
            default_storage.delete(name)
    request.request_face_crop = request.document_picture = request.document_face_crop = ""


@dangerously_unscoped(reason="platform code: the operator verifies a requester")
def request_verify(*, request: DataSubjectRequest, actor: Actor, note: str = "") -> DataSubjectRequest:
    """The operator compared the faces and verified the requester: the identity document goes,
    and only now is the request searched for and forwarded to the tenants holding the person."""
    with scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.AWAITING_VERIFICATION:
            raise RequestStateError(_("Only a request whose e-mail is confirmed and not yet verified can be verified."))
        _verification_files_delete(request)
        request.status, request.verified_at, request.verified_by_id = Status.IN_PROGRESS, timezone.now(), actor.user_id
        request.verification_note = note.strip()
        request.save(update_fields=["status", "verified_at", "verified_by", "verification_note", "request_face_crop",
                                    "document_picture", "document_face_crop"])
        audit_record(action="request.verify", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference, "similarity": request.document_similarity})
        request_forward(request=request, actor=actor)
    return request


@dangerously_unscoped(reason="platform code: the operator rejects a requester")
def request_reject(*, request: DataSubjectRequest, actor: Actor, reason: str) -> DataSubjectRequest:
    """The requester is not who they say: the document and the face templates go, suppression ends."""
    if not reason.strip():
        raise RequestInvalid(_("Give the reason, for the requester."), field="reason")
    with scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if request.status not in (Status.AWAITING_EMAIL, Status.AWAITING_VERIFICATION):
            raise RequestStateError(_("This request was already verified or rejected."))
        _verification_files_delete(request)
        request.status, request.rejected_at = Status.REJECTED, timezone.now()
        request.verification_note, request.verified_by_id = reason.strip(), actor.user_id
        request.save(update_fields=["status", "rejected_at", "verification_note", "verified_by", "request_face_crop",
                                    "document_picture", "document_face_crop"])
        RequestFace.objects.filter(request=request).delete()
        if request.opt_out_id and request.opt_out.status == OptOut.Status.RECEIVED:
            opt_out_reject(opt_out=request.opt_out, actor=actor, reason=reason.strip())
        audit_record(action="request.reject", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference, "reason": reason.strip()})
        email, subject = request.email, _("Your request %(reference)s") % {"reference": request.reference}
        body = _("We could not verify that the request %(reference)s is yours, so we did not act on it.\n\n"
                 "Reason: %(reason)s") % {"reference": request.reference, "reason": reason.strip()}
        scope_on_commit(lambda: send_mail(subject, body, None, [email], fail_silently=True))
    return request

"""The controllers' decisions on a verified request, and the extension of its deadline.

The operator decides for the platform index; each tenant decides for its own gallery, from its
inbox. Complying goes through the existing paths: erasure is a subject order limited to the
controller's gallery (activation withholds at once, enforcement deletes, Art. 19 recall notices
follow); restriction withholds the faces concerned without deleting them (recall notices too);
access releases the controller's part of the answer. Refusing records a legal ground and the
reasoning. The request is answered when every controller decided.
"""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance.opt_outs import opt_out_confirm, opt_out_reject
from portal.compliance.orders import order_activate, order_create
from portal.gallery.signals import faces_restricted
from portal.rights.models import (ERASING_KINDS, DataSubjectRequest, ForwardedRequest, RefusalGround, RequestFace,
                                  RequestKind)
from portal.rights.services import RequestInvalid, RequestNotFound, RequestStateError
from tenants.context import dangerously_unscoped, scope_atomic, scope_connection, scope_on_commit, tenant_scope
from tenants.models import Tenant

Status = DataSubjectRequest.Status
Decision = DataSubjectRequest.Decision
MAX_EXTENSION_MONTHS = 2  # GDPR Art. 12(3)


def _mail(*, to: str, subject: str, body: str) -> None:
    scope_on_commit(lambda: send_mail(subject, body, None, [to], fail_silently=True))


def request_answered_check(*, request_id: int) -> DataSubjectRequest:
    """Marks the request answered once the operator and every tenant it was forwarded to decided,
    and tells the requester."""
    with dangerously_unscoped(reason="is a data subject's request answered?"), scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request_id)
        pending = ForwardedRequest.objects.filter(request_id=request.pk, status=ForwardedRequest.Status.PENDING)
        if request.status != Status.IN_PROGRESS or not request.platform_decided_at or pending.exists():
            return request
        request.status, request.answered_at = Status.ANSWERED, timezone.now()
        request.save(update_fields=["status", "answered_at"])
        audit_record(action="request.answered", actor=Actor.system("data subjects' requests"), target_type="request",
                     target_id=request.pk, details={"reference": request.reference})
        _mail(to=request.email, subject=_("Your request %(reference)s is answered") % {"reference": request.reference},
              body=_("Every controller holding pictures of you has decided on your request %(reference)s. "
                     "The status page you received shows each decision.") % {"reference": request.reference})
    return request


@dangerously_unscoped(reason="platform code: the operator decides for the platform index")
def request_platform_decide(*, request: DataSubjectRequest, actor: Actor, comply: bool,
                            reason: str = "") -> tuple[DataSubjectRequest, RegulatoryOrder | None]:
    """The operator's decision for its platform index. Complying with an erasure files the subject
    order limited to the platform index (returned, for enforcement); with a restriction, the
    suppression in force since receipt stays; with access, the platform's part is released."""
    order = None
    with scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != Status.IN_PROGRESS or request.platform_decided_at:
            raise RequestStateError(_("The platform's part of this request is not awaiting a decision."))
        if not comply and not reason.strip():
            raise RequestInvalid(_("Give the reason for the refusal; the requester is told."), field="reason")
        opt_out = request.opt_out
        if not comply:
            request.platform_decision = Decision.REFUSED
            if opt_out is not None and opt_out.status == OptOut.Status.RECEIVED:
                opt_out_reject(opt_out=opt_out, actor=actor, reason=reason.strip())
        elif request.kind == RequestKind.ACCESS:
            request.platform_decision = Decision.RELEASED
        else:
            request.platform_decision = Decision.COMPLIED
            if request.kind in ERASING_KINDS and opt_out is not None and opt_out.status == OptOut.Status.RECEIVED:
                order = opt_out_confirm(opt_out=opt_out, actor=actor)
                request.platform_order = order
        request.platform_reason, request.platform_decided_at = reason.strip(), timezone.now()
        request.save(update_fields=["platform_decision", "platform_reason", "platform_decided_at", "platform_order"])
        audit_record(action="request.platform_decide", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference, "decision": request.platform_decision,
                              "reason": request.platform_reason, "order_id": order.pk if order else None})
    return request_answered_check(request_id=request.pk), order


def forwarded_get(*, tenant: Tenant, public_id) -> ForwardedRequest:
    """The tenant's forwarded request; another tenant's, like an absent one, is not found."""
    with tenant_scope(tenant):
        row = ForwardedRequest.objects.filter(tenant=tenant, public_id=public_id).first()
    if row is None:
        raise RequestNotFound(_("No such request in your inbox."))
    return row


def _tenant_erasure_order(*, tenant: Tenant, row: ForwardedRequest, actor: Actor) -> RegulatoryOrder:
    """A subject order limited to the tenant's gallery, from the requester's face. Filed again
    only if absent, so a retry after a failure in between does not file a second one."""
    reference = f"{row.reference}-T{tenant.pk}"
    with dangerously_unscoped(reason="a tenant complies with a forwarded erasure request"):
        order = RegulatoryOrder.objects.filter(reference=reference).first()
        if order is None:
            request = DataSubjectRequest.objects.get(pk=row.request_id)
            order = order_create(
                actor=actor, kind=RegulatoryOrder.Kind.SUBJECT,
                authority=f"Data subject request, decided by {tenant.name}"[:200], reference=reference,
                received_on=timezone.localdate(row.received_at), effective_at=timezone.now(), deadline=row.deadline,
                match_threshold=request.match_threshold,
                reference_embeddings=[f.embedding for f in RequestFace.objects.filter(request=request)],
                scope_all=False, scope_tenants=[tenant], scope_platform_index=False)
        if order.status == RegulatoryOrder.Status.DRAFT:
            order = order_activate(order=order, actor=actor)
    return order


def _restrict(*, tenant: Tenant, row: ForwardedRequest) -> int:
    """Withholds the tenant's faces the request concerns, and their pictures; nothing is deleted
    (GDPR Art. 18). The recipients of those faces get recall notices (Art. 19)."""
    with scope_connection().cursor() as cursor:
        cursor.execute("UPDATE gallery_face SET withheld = true WHERE tenant_id = %s AND uuid = ANY(%s::uuid[])"
                       " AND NOT withheld RETURNING uuid, image_id", [tenant.pk, list(row.face_uuids)])
        rows = cursor.fetchall()
        cursor.execute("UPDATE gallery_image SET withheld = true WHERE tenant_id = %s AND id = ANY(%s)",
                       [tenant.pk, sorted({image_id for _uuid, image_id in rows})])
    faces_restricted.send(sender=ForwardedRequest, face_uuids=[str(u) for u, _image in rows],
                          cause={"kind": "request", "reference": row.reference})
    return len(rows)


def forwarded_decide(*, tenant: Tenant, public_id, actor: Actor, comply: bool, ground: str = "",
                     reasoning: str = "") -> tuple[ForwardedRequest, RegulatoryOrder | None]:
    """The tenant's decision on a request forwarded to it. Another tenant's request, or an absent
    one, is not found and nothing changes; so is a refusal without a legal ground or reasoning."""
    order = None
    if not comply:
        if ground not in RefusalGround.values:
            raise RequestInvalid(_("Choose the legal ground of the refusal."), field="ground")
        if not reasoning.strip():
            raise RequestInvalid(_("Explain the refusal; it is recorded and the requester is told."), field="reasoning")
    row = forwarded_get(tenant=tenant, public_id=public_id)
    if row.status != ForwardedRequest.Status.PENDING:
        raise RequestStateError(_("This request was already decided."))
    if comply and row.kind in ERASING_KINDS:
        order = _tenant_erasure_order(tenant=tenant, row=row, actor=actor)  # irreversible: first
    with tenant_scope(tenant), scope_atomic():
        row = ForwardedRequest.objects.select_for_update().get(pk=row.pk, tenant=tenant)
        if row.status != ForwardedRequest.Status.PENDING:
            raise RequestStateError(_("This request was already decided."))
        now = timezone.now()
        if not comply:
            row.status, row.ground, row.reasoning = ForwardedRequest.Status.REFUSED, ground, reasoning.strip()
        elif row.kind == RequestKind.ACCESS:
            row.status, row.released_at = ForwardedRequest.Status.RELEASED, now
        else:
            row.status = ForwardedRequest.Status.COMPLIED
            row.order_id = order.pk if order else None
            if row.kind == RequestKind.RESTRICTION:
                row.faces_restricted = _restrict(tenant=tenant, row=row)
        row.decided_at, row.decided_by_id, row.decided_by_label = now, actor.user_id, actor.label[:200]
        row.save()
        audit_record(action="request.decide", actor=actor, tenant=tenant, target_type="forwarded_request",
                     target_id=row.public_id, details={"reference": row.reference, "kind": row.kind,
                                                       "decision": row.status, "ground": row.ground,
                                                       "reasoning": row.reasoning, "order_id": row.order_id,
                                                       "faces_restricted": row.faces_restricted})
        # After the tenant's transaction commits: the check reads every controller's decision
        # through the platform's connection, which sees this one only then.
        request_id = row.request_id
        scope_on_commit(lambda: request_answered_check(request_id=request_id))
    return row, order


@dangerously_unscoped(reason="platform code: extending a request's deadline")
def request_extend(*, request: DataSubjectRequest, actor: Actor, months: int, reason: str) -> DataSubjectRequest:
    """Extends the deadline by one or two months, once (GDPR Art. 12(3)), with the reason, which
    the requester is told by e-mail; the tenants' forwarded copies follow."""
    if months not in range(1, MAX_EXTENSION_MONTHS + 1):
        raise RequestInvalid(_("An extension is one or two months."), field="months")
    if not reason.strip():
        raise RequestInvalid(_("Give the reason for the extension; the requester is told."), field="reason")
    with scope_atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if request.status in (Status.ANSWERED, Status.REJECTED):
            raise RequestStateError(_("This request is closed."))
        if request.extended_deadline:
            raise RequestStateError(_("The deadline was already extended; the law allows two further months at most."))
        request.extended_deadline = request.deadline + relativedelta(months=months)
        request.extension_reason, request.extended_at = reason.strip(), timezone.now()
        request.save(update_fields=["extended_deadline", "extension_reason", "extended_at"])
        ForwardedRequest.objects.filter(request_id=request.pk).update(deadline=request.extended_deadline)
        audit_record(action="request.extend", actor=actor, target_type="request", target_id=request.pk,
                     details={"reference": request.reference, "months": months, "reason": request.extension_reason,
                              "deadline": request.extended_deadline.isoformat()})
        _mail(to=request.email, subject=_("Your request %(reference)s: more time needed") % {
            "reference": request.reference}, body=_(
            "We need more time to answer your request %(reference)s. We will answer by %(deadline)s at the "
            "latest.\n\nReason: %(reason)s") % {"reference": request.reference,
                                                 "deadline": request.extended_deadline.isoformat(),
                                                 "reason": request.extension_reason})
    return request

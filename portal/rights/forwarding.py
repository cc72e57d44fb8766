"""Forwarding a verified request to the tenants whose galleries hold the person.

A face matches when it is within the request's match threshold (the subject orders' threshold) of
the requester's face, the same distance test as coverage.py's subject predicate. Each tenant with
matching faces gets a ForwardedRequest in its inbox and a `request.forwarded` webhook; the
platform index's count is recorded on the request for the operator's own decision.
"""

from __future__ import annotations

from portal.audit.services import Actor, audit_record
from portal.rights.models import DataSubjectRequest, ForwardedRequest
from portal.webhooks.events import request_forwarded_emit
from tenants.context import scope_connection, tenant_scope
from tenants.models import Tenant

MATCHING_FACES_SQL = (
    "SELECT f.tenant_id, array_agg(f.uuid ORDER BY f.id) FROM gallery_face f"
    " WHERE EXISTS (SELECT 1 FROM rights_requestface r WHERE r.request_id = %s"
    "  AND (f.embedding <=> r.embedding) < 1 - %s)"
    " GROUP BY f.tenant_id")


def request_matching_faces(*, request: DataSubjectRequest) -> dict[int | None, list[str]]:
    """Per gallery (tenant id; None for the platform index): the uuids of the faces that match the
    requester. Runs unscoped (platform code): it reads every gallery."""
    with scope_connection().cursor() as cursor:
        cursor.execute(MATCHING_FACES_SQL, [request.pk, request.match_threshold])
        return {tenant_id: [str(u) for u in uuids] for tenant_id, uuids in cursor.fetchall()}


def request_forward(*, request: DataSubjectRequest, actor: Actor) -> list[ForwardedRequest]:
    """Called by request_verify inside its unscoped transaction: searches every gallery for the
    requester and forwards the request to each tenant holding matching faces."""
    matching = request_matching_faces(request=request)
    request.platform_faces = len(matching.get(None, []))
    request.save(update_fields=["platform_faces"])
    forwarded = []
    tenants = Tenant.objects.in_bulk([t for t in matching if t is not None])
    for tenant_id in sorted(tenants):
        tenant = tenants[tenant_id]
        with tenant_scope(tenant):
            row, created = ForwardedRequest.objects.get_or_create(
                tenant=tenant, request_id=request.pk,
                defaults={"reference": request.reference, "kind": request.kind, "received_at": request.received_at,
                          "deadline": request.due_on, "face_uuids": matching[tenant_id]})
            if not created:
                continue
            audit_record(action="request.forwarded", actor=actor, tenant=tenant, target_type="forwarded_request",
                         target_id=row.public_id, details={"reference": request.reference, "kind": request.kind,
                                                           "faces": len(row.face_uuids),
                                                           "deadline": row.deadline.isoformat()})
            request_forwarded_emit(tenant=tenant, request_reference=request.reference, kind=request.kind,
                                   received_on=request.received_at.date().isoformat(),
                                   due_on=row.deadline.isoformat(), faces_concerned=len(row.face_uuids))
        forwarded.append(row)
    audit_record(action="request.search", actor=actor, target_type="request", target_id=request.pk,
                 details={"reference": request.reference, "platform_faces": request.platform_faces,
                          "forwarded_to": [tenants[t].slug for t in sorted(tenants)]})
    return forwarded

"""Reading requests: the operator's dashboard, the requester's status page, a tenant's inbox, and
what the access answer's builder needs (portal/compliance/access_answers.py)."""

from __future__ import annotations

import numpy as np
from django.db.models import Count

from portal.rights.clock import days_left
from portal.rights.models import DataSubjectRequest, ForwardedRequest, RequestFace
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant

Status = DataSubjectRequest.Status
OPEN = (Status.AWAITING_EMAIL, Status.AWAITING_VERIFICATION, Status.IN_PROGRESS)


def _clock(due_on, *, open_: bool) -> dict:
    left = days_left(due_on)
    return {"days_left": left, "days_overdue": max(0, -left), "overdue": open_ and left < 0}


@dangerously_unscoped(reason="platform code: the requests dashboard")
def requests_dashboard(*, status: str | None = None) -> dict:
    """Counts by status, and the requests (open ones first, soonest due first) with days left."""
    counts = dict(DataSubjectRequest.objects.values_list("status").annotate(n=Count("id")).order_by())
    requests = DataSubjectRequest.objects.order_by("received_at")
    if status:
        requests = requests.filter(status=status)
    pending = {}
    for request_id, n in (ForwardedRequest.objects.filter(status=ForwardedRequest.Status.PENDING)
                          .values_list("request_id").annotate(n=Count("id")).order_by()):
        pending[request_id] = n
    rows = [{"request": r, "tenants_pending": pending.get(r.pk, 0), **_clock(r.due_on, open_=r.status in OPEN)}
            for r in requests[:500]]
    rows.sort(key=lambda row: (row["request"].status not in OPEN, row["request"].due_on))
    return {"by_status": [(value, label, counts.get(value, 0)) for value, label in Status.choices],
            "rows": rows, "overdue": sum(1 for row in rows if row["overdue"])}


@dangerously_unscoped(reason="platform code: one request")
def request_get(*, request_id: int) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_related("opt_out", "platform_order", "verified_by").get(pk=request_id)


@dangerously_unscoped(reason="platform code: the tenants a request was forwarded to")
def request_forwarded_list(*, request: DataSubjectRequest) -> list[dict]:
    rows = list(ForwardedRequest.objects.filter(request_id=request.pk).order_by("id"))
    tenants = Tenant.objects.in_bulk([row.tenant_id for row in rows])
    return [{"row": row, "tenant": tenants.get(row.tenant_id), "faces": len(row.face_uuids)} for row in rows]


def request_status_view(*, request: DataSubjectRequest) -> dict:
    """What the requester sees: their request's state and each controller's decision, without
    naming the tenants (their part is told as "a customer's gallery")."""
    with dangerously_unscoped(reason="a requester reads their request's status"):
        forwarded = list(ForwardedRequest.objects.filter(request_id=request.pk).order_by("id"))
    return {"request": request, "forwarded": forwarded,
            **_clock(request.due_on, open_=request.status in OPEN)}


def inbox_list(*, tenant: Tenant) -> list[dict]:
    with tenant_scope(tenant):
        rows = list(ForwardedRequest.objects.filter(tenant=tenant).order_by("-status", "deadline"))
    rows.sort(key=lambda row: (row.status != ForwardedRequest.Status.PENDING, row.deadline))
    return [{"row": row, "faces": len(row.face_uuids),
             **_clock(row.deadline, open_=row.status == ForwardedRequest.Status.PENDING)} for row in rows]


def inbox_pending_count(*, tenant: Tenant) -> int:
    with tenant_scope(tenant):
        return ForwardedRequest.objects.filter(tenant=tenant, status=ForwardedRequest.Status.PENDING).count()


@dangerously_unscoped(reason="platform code: the inputs of an access answer")
def access_answer_inputs(*, request: DataSubjectRequest) -> dict:
    """For access_answer_build(): the verified requester's embeddings, the threshold, and the
    tenants that released their part (the platform index's part when `platform_released`)."""
    request = DataSubjectRequest.objects.get(pk=request.pk)  # as it is now, not as the caller loaded it
    if request.verified_at is None:
        return {"embeddings": [], "threshold": request.match_threshold, "released_tenant_ids": [],
                "platform_released": False}
    embeddings = [np.asarray(face.embedding, dtype=np.float32) for face in RequestFace.objects.filter(request=request)]
    released = sorted(ForwardedRequest.objects.filter(request_id=request.pk, released_at__isnull=False)
                      .values_list("tenant_id", flat=True))
    return {"embeddings": embeddings, "threshold": request.match_threshold, "released_tenant_ids": released,
            "platform_released": request.platform_decision == DataSubjectRequest.Decision.RELEASED}

"""The events the portal sends, one function each, so every payload has one definition
(docs/api.md, "Webhooks", lists them)."""

from __future__ import annotations

import uuid

from portal.webhooks.models import EventType
from portal.webhooks.services import webhook_event_emit
from tenants.models import Tenant


def request_forwarded_emit(*, tenant: Tenant, request_reference: str, kind: str, received_on: str, due_on: str,
                           faces_concerned: int) -> uuid.UUID | None:
    """A data subject's request (access, erasure, restriction…) that the platform received and
    forwarded to the tenant, whose gallery holds faces it concerns (portal/rights/forwarding.py)."""
    return webhook_event_emit(tenant=tenant, event_type=EventType.REQUEST_FORWARDED, data={"request": {
        "reference": request_reference, "kind": kind, "received_on": received_on, "due_on": due_on,
        "faces_concerned": faces_concerned}})


def search_completed_emit(*, tenant: Tenant, search_id: str, case_reference: str, status: str, matches: int,
                          leads: int, run_by: str, created_at: str) -> uuid.UUID | None:
    """No faces in it: the receiving system fetches the results through the API, which records it."""
    return webhook_event_emit(tenant=tenant, event_type=EventType.SEARCH_COMPLETED, data={"search": {
        "id": search_id, "case_reference": case_reference, "status": status, "matches": matches, "leads": leads,
        "run_by": run_by, "created_at": created_at}})


def order_activated_emit(*, tenant: Tenant, order_reference: str, kind: str, authority: str, activated_at: str,
                         faces_covered: int | None) -> uuid.UUID | None:
    return webhook_event_emit(tenant=tenant, event_type=EventType.ORDER_ACTIVATED, data={"order": {
        "reference": order_reference, "kind": kind, "authority": authority, "activated_at": activated_at,
        "faces_covered_in_your_gallery": faces_covered}})


def disclosure_recalled_emit(*, tenant: Tenant, notice_id: str, action: str, cause: dict, faces: int,
                             searches: list[dict], created_at: str) -> uuid.UUID | None:
    return webhook_event_emit(tenant=tenant, event_type=EventType.DISCLOSURE_RECALLED, data={"notice": {
        "id": notice_id, "action": action, "cause": cause, "faces": faces, "searches": searches,
        "created_at": created_at, "acknowledge_by": "the Notices page of the portal"}})

"""The audit chain: one append-only, hash-chained log of who did what to which tenant's data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from portal.audit.models import AuditChainHead, AuditEvent
from tenants.context import dangerously_unscoped, tenant_current_or_none, tenant_scope
from tenants.models import Tenant

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acted: a signed-in user, an API key, or the system (tasks, commands)."""

    label: str
    user_id: int | None = None
    api_key_id: int | None = None
    ip_address: str | None = None

    @classmethod
    def system(cls, what: str) -> "Actor":
        return cls(label=f"system: {what}")

    @classmethod
    def of_user(cls, user, *, ip_address: str | None = None) -> "Actor":
        return cls(label=user.email, user_id=user.pk, ip_address=ip_address)


def _event_hash(*, prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq, "tenant_id": event.tenant_id, "actor_user_id": event.actor_user_id,
        "actor_api_key_id": event.actor_api_key_id, "actor_label": event.actor_label, "action": event.action,
        "target_type": event.target_type, "target_id": event.target_id, "details": event.details,
        "ip_address": event.ip_address, "created_at": event.created_at.isoformat(),
    }


def _chain_head_locked() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:  # the migration makes it; an emptied database (TRUNCATE) starts a new chain
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO compliance_auditchainhead (id, seq, hash) VALUES (1, 0, %s) "
                           "ON CONFLICT (id) DO NOTHING", [GENESIS_HASH])
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def audit_record(*, action: str, actor: Actor, tenant: Tenant | None = None, target_type: str = "",
                 target_id: str | int = "", details: dict[str, Any] | None = None) -> AuditEvent:
    """Appends an event to the chain, in the caller's transaction: if the action rolls back, so
    does its audit record, and an action that commits is always recorded."""
    with transaction.atomic():
        head = _chain_head_locked()
        event = AuditEvent(
            seq=head.seq + 1, tenant=tenant, actor_user_id=actor.user_id, actor_api_key_id=actor.api_key_id,
            actor_label=actor.label[:200], action=action, target_type=target_type, target_id=str(target_id),
            details=json.loads(json.dumps(details or {}, default=str)), ip_address=actor.ip_address,
            created_at=timezone.now(), prev_hash=head.hash,
        )
        event.hash = _event_hash(prev_hash=head.hash, fields=_hashed_fields(event))
        current = tenant_current_or_none()
        # Rows are written in their own tenant's scope (or unscoped for platform events), so RLS's
        # write check holds whatever scope the caller is in.
        if tenant is None:
            with dangerously_unscoped(reason="audit: platform event"):
                event.save(force_insert=True)
        elif current is not None and current.pk == tenant.pk:
            event.save(force_insert=True)
        else:
            with tenant_scope(tenant):
                event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


def audit_head() -> tuple[int, str]:
    head = AuditChainHead.objects.filter(pk=1).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


@dataclass(frozen=True)
class ChainVerification:
    events: int
    head_hash: str
    first_broken_seq: int | None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken_seq is None


def audit_chain_verify(*, batch_size: int = 5000) -> ChainVerification:
    """Recomputes every hash in order; names the first event whose content, link or order is wrong."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    with dangerously_unscoped(reason="audit chain verification reads every tenant's events"):
        events = AuditEvent.objects.order_by("seq").iterator(chunk_size=batch_size)
        for event in events:
            count += 1
            if event.seq != expected_seq:
                return ChainVerification(count, prev_hash, expected_seq, f"event #{expected_seq} is missing")
            if event.prev_hash != prev_hash:
                return ChainVerification(count, prev_hash, event.seq, "its link to the previous event does not match")
            if _event_hash(prev_hash=prev_hash, fields=_hashed_fields(event)) != event.hash:
                return ChainVerification(count, prev_hash, event.seq, "its content does not match its hash")
            prev_hash, expected_seq = event.hash, expected_seq + 1
        head_seq, head_hash = audit_head()
        if head_seq != expected_seq - 1 or head_hash != prev_hash:
            return ChainVerification(count, prev_hash, expected_seq, "the chain head does not match the last event")
    return ChainVerification(count, prev_hash, None)

"""The audit chains: append-only, hash-chained logs of who did what to which tenant's data, one per
tenant plus the platform's, whose anchors pin every tenant chain's head."""

from __future__ import annotations

import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any


from portal.audit.models import AuditEvent
from tenants.context import (dangerously_unscoped, scope_connection, scope_is_unscoped, tenant_current_or_none,
                             tenant_scope)
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


@dataclass(frozen=True)
class ChainPosition:
    tenant_id: int | None
    position: int
    hash: str


def _event_hash(*, prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def audit_record(*, action: str, actor: Actor, tenant: Tenant | None = None, target_type: str = "",
                 target_id: str | int = "", details: dict[str, Any] | None = None) -> ChainPosition:
    """Appends an event to its tenant's chain (or the platform's), in the caller's transaction:
    if the action rolls back, so does its audit record, and an action that commits is always
    recorded. The database function computes the position and the hash; it accepts a tenant's
    event only in that tenant's scope or the platform's, so the event is written in its own."""
    current = tenant_current_or_none()
    in_scope = tenant is None or scope_is_unscoped() or (current is not None and current.pk == tenant.pk)
    with nullcontext() if in_scope else tenant_scope(tenant), scope_connection().cursor() as cursor:
        cursor.execute(
            "SELECT event_position, event_hash FROM portal_audit_append(%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            [tenant.pk if tenant else None, actor.user_id, actor.api_key_id, actor.label[:200], action, target_type,
             str(target_id), json.dumps(details or {}, default=str), actor.ip_address],
        )
        position, hashed = cursor.fetchone()
    return ChainPosition(tenant_id=tenant.pk if tenant else None, position=position, hash=hashed)


def audit_heads() -> dict[int | None, ChainPosition]:
    """The head of each chain the caller may see: every chain unscoped, else its tenant's and the
    platform's. A chain with no event yet is absent."""
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT chain_tenant_id, head_position, head_hash FROM portal_audit_heads()")
        return {row[0]: ChainPosition(*row) for row in cursor.fetchall()}


def audit_head(*, tenant: Tenant | None = None) -> tuple[int, str]:
    """(position, hash) of the tenant's chain, or of the platform's when tenant is None."""
    head = audit_heads().get(tenant.pk if tenant else None)
    return (head.position, head.hash) if head else (0, GENESIS_HASH)


@dataclass(frozen=True)
class ChainVerification:
    events: int
    head_hash: str
    first_broken_position: int | None
    problem: str = ""
    tenant_id: int | None = None

    @property
    def intact(self) -> bool:
        return self.first_broken_position is None


_CANONICAL_SQL = """
    SELECT position, prev_hash, hash,
           portal_audit_canonical(tenant_id, position, actor_user_id, actor_api_key_id, actor_label, action,
                                  target_type, target_id, details, ip_address, created_at)
    FROM compliance_auditevent WHERE tenant_id IS NOT DISTINCT FROM %s AND position > %s
    ORDER BY position LIMIT %s
"""


def _chain_verify(*, tenant_id: int | None, head: ChainPosition | None, batch_size: int) -> ChainVerification:
    prev_hash, expected, count = GENESIS_HASH, 1, 0
    while True:
        with scope_connection().cursor() as cursor:
            cursor.execute(_CANONICAL_SQL, [tenant_id, expected - 1, batch_size])
            rows = cursor.fetchall()
        for position, stored_prev, stored_hash, canonical in rows:
            count += 1
            if position != expected:
                return ChainVerification(count, prev_hash, expected, f"event {expected} is missing", tenant_id)
            if stored_prev != prev_hash:
                return ChainVerification(count, prev_hash, position, "its link to the previous event does not match",
                                         tenant_id)
            if _event_hash(prev_hash=prev_hash, canonical=canonical) != stored_hash:
                return ChainVerification(count, prev_hash, position, "its content does not match its hash", tenant_id)
            prev_hash, expected = stored_hash, expected + 1
        if len(rows) < batch_size:
            break
    head_position, head_hash = (head.position, head.hash) if head else (0, GENESIS_HASH)
    if head_position != expected - 1 or head_hash != prev_hash:
        return ChainVerification(count, prev_hash, expected, "the chain head does not match the last event", tenant_id)
    return ChainVerification(count, prev_hash, None, tenant_id=tenant_id)


def audit_chain_verify(*, tenant: Tenant | None = None, batch_size: int = 5000) -> list[ChainVerification]:
    """Recomputes every hash of a chain in order and names the first event whose content, link or
    position is wrong. With `tenant`, that tenant's chain alone (in its scope: a tenant can check
    its own chain without reading anyone else's); without, the platform's chain and every
    tenant's (unscoped). The hash is sha256 over the previous hash and the event's canonical form
    (`portal_audit_canonical()`, a JSON array of its fields), recomputed here, not by the database."""
    if tenant is not None:
        with tenant_scope(tenant):
            return [_chain_verify(tenant_id=tenant.pk, head=audit_heads().get(tenant.pk), batch_size=batch_size)]
    with dangerously_unscoped(reason="audit chain verification reads every chain"):
        heads = audit_heads()
        with scope_connection().cursor() as cursor:
            cursor.execute("SELECT DISTINCT tenant_id FROM compliance_auditevent")
            chains = {row[0] for row in cursor.fetchall()} | set(heads) | {None}
        return [_chain_verify(tenant_id=chain, head=heads.get(chain), batch_size=batch_size)
                for chain in sorted(chains, key=lambda chain: (chain is not None, chain or 0))]


def audit_chains_anchor() -> ChainPosition | None:
    """Writes into the platform's chain the head of every tenant chain that moved since the last
    anchor, so a tenant's chain cannot be rewritten later without the platform's chain showing it.
    Run periodically (CELERY_BEAT_SCHEDULE) and before each certificate. Returns the anchor event,
    or None when no tenant chain moved."""
    with dangerously_unscoped(reason="anchoring every tenant chain's head in the platform chain"):
        last = AuditEvent.objects.filter(tenant__isnull=True, action="audit.chains_anchored").order_by("-position").first()
        anchored = {int(key): value for key, value in (last.details.get("chains", {}) if last else {}).items()}
        moved = {str(tenant_id): {"position": head.position, "hash": head.hash}
                 for tenant_id, head in audit_heads().items()
                 if tenant_id is not None and anchored.get(tenant_id, {}).get("hash") != head.hash}
        if not moved:
            return None
        chains = {str(key): value for key, value in anchored.items()} | moved
        return audit_record(action="audit.chains_anchored", actor=Actor.system("audit anchor"),
                            details={"chains": chains, "moved": sorted(moved, key=int)})

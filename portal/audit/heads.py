"""Signed audit heads: a rewrite of an audit chain becomes detectable by anyone who kept one.

Every few hours (CELERY_BEAT_SCHEDULE, `audit.heads_sign`) the portal anchors every tenant chain
in the platform's, then signs one public statement: the platform chain's head and a digest over
every chain's head. It names no tenant and no tenant's position, so publishing it tells nobody
how active any tenant is; the platform keeps the list the digest covers. A tenant fetches a
signed head of its own chain from its audit page or the API.

`manage.py audit_heads_check FILE` verifies a kept file's signature, then that the chain, as it is
now, is intact and still holds that hash at that position: a chain rewritten and re-hashed by
someone with the database owner's rights passes `audit_verify`, but not this.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.utils.translation import gettext

from portal.audit.models import AuditEvent, SignedAuditHeads
from portal.audit.services import (GENESIS_HASH, Actor, _chain_verify, audit_chains_anchor, audit_heads,
                                   audit_record)
from portal.audit.signing import document_sign_now, signing_keys_published
from portal.signatures import PublishedKey, SignatureInvalid, canonical_bytes, document_verify, keys_parse
from tenants.context import dangerously_unscoped, scope_atomic, tenant_scope
from tenants.models import Tenant

HEADS_TYPE = "audit-heads/1"
CHAIN_HEAD_TYPE = "audit-chain-head/1"
DIGEST_METHOD = ("sha256 of the canonical JSON of every chain's [chain, position, hash], "
                 "the platform's first (chain 0), then tenants' by id")
PUBLISHED_COUNT = 60


def heads_digest(heads: list[list]) -> str:
    return hashlib.sha256(canonical_bytes(heads)).hexdigest()


def audit_heads_sign() -> SignedAuditHeads:
    """Signs and keeps the current heads of every chain; the public statement is `signed_file`."""
    audit_chains_anchor()
    with dangerously_unscoped(reason="signing every audit chain's head"), scope_atomic():
        heads = audit_heads()
        platform = heads.get(None)
        position, head_hash = (platform.position, platform.hash) if platform else (0, GENESIS_HASH)
        listed = [[0, position, head_hash]] + [[tenant_id, head.position, head.hash]
                                               for tenant_id, head in sorted(
                                                   (item for item in heads.items() if item[0] is not None))]
        digest = heads_digest(listed)
        signed = document_sign_now(document={
            "type": HEADS_TYPE, "platform_chain": {"position": position, "hash": head_hash},
            "chains_digest": digest, "digest_method": DIGEST_METHOD})
        verified = document_verify(data=signed, keys=keys_parse(signing_keys_published()))
        row = SignedAuditHeads.objects.create(
            signed_at=verified.signed_at, key_id=verified.key_id, platform_position=position,
            platform_hash=head_hash, digest=digest, heads=listed, signed_file=signed.decode())
        audit_record(action="audit.heads_sign", actor=Actor.system("signed audit heads"),
                     target_type="signed_audit_heads", target_id=row.pk,
                     details={"platform_position": position, "platform_hash": head_hash, "digest": digest,
                              "key_id": verified.key_id})
    return row


def audit_heads_published(*, count: int = PUBLISHED_COUNT) -> list[dict]:
    """The most recent signed statements, newest first, as the JSON objects of their files."""
    with dangerously_unscoped(reason="publishing the signed audit heads"):
        files = list(SignedAuditHeads.objects.order_by("-signed_at").values_list("signed_file", flat=True)[:count])
    return [json.loads(text) for text in files]


def audit_chain_head_sign(*, tenant: Tenant) -> bytes:
    """A signed statement of the tenant's own chain head, for the tenant to keep."""
    with tenant_scope(tenant):
        head = audit_heads().get(tenant.pk)
    position, head_hash = (head.position, head.hash) if head else (0, GENESIS_HASH)
    return document_sign_now(document={"type": CHAIN_HEAD_TYPE, "tenant_id": tenant.pk, "tenant": tenant.slug,
                                       "position": position, "hash": head_hash})


@dataclass(frozen=True)
class HeadsCheck:
    ok: bool
    lines: list[str]


def _chain_holds(*, tenant_id: int | None, position: int, head_hash: str, tenant: Tenant | None = None) -> str:
    """'' when the chain is intact now and holds `head_hash` at `position`; else what is wrong.
    With `tenant`, read in that tenant's scope (its own chain), else unscoped."""
    name = (gettext("the platform chain") if tenant_id is None
            else gettext("the chain of tenant %(id)s") % {"id": tenant_id})
    scope = tenant_scope(tenant) if tenant is not None else dangerously_unscoped(
        reason="checking a signed audit head against the chain")
    with scope:
        result = _chain_verify(tenant_id=tenant_id, head=audit_heads().get(tenant_id), batch_size=5000)
        stored = (AuditEvent.objects.filter(tenant_id=tenant_id, position=position)
                  .values_list("hash", flat=True).first()) if position else GENESIS_HASH
    if not result.intact:
        return gettext("%(chain)s is broken at position %(position)s: %(problem)s.") % {
            "chain": name, "position": result.first_broken_position, "problem": result.problem}
    if stored is None:
        return gettext("%(chain)s has no event at position %(position)s any more (it has %(events)s).") % {
            "chain": name, "position": position, "events": result.events}
    if stored != head_hash:
        return gettext("%(chain)s holds another event at position %(position)s than when it was signed: the chain "
                       "was rewritten (signed %(signed)s, now %(now)s).") % {
            "chain": name, "position": position, "signed": head_hash, "now": stored}
    return ""


def audit_chain_head_check(*, tenant: Tenant, data: bytes) -> HeadsCheck:
    """A tenant checks a signed head of its own chain that it kept, in its own scope. Raises
    SignatureInvalid for a file that is not genuine or not a head of this tenant's chain."""
    verified = document_verify(data=data, keys=keys_parse(signing_keys_published()))
    document = verified.document
    if verified.type != CHAIN_HEAD_TYPE or document.get("tenant_id") != tenant.pk:
        raise SignatureInvalid(gettext("The file is genuine but is not a signed head of your organisation's chain."))
    problem = _chain_holds(tenant_id=tenant.pk, position=document["position"], head_hash=document["hash"],
                           tenant=tenant)
    signed = gettext("Signature good: key %(key)s, signed at %(at)s, position %(position)s.") % {
        "key": verified.key_id, "at": verified.signed_at.isoformat(), "position": document["position"]}
    return HeadsCheck(ok=not problem, lines=[signed, problem or gettext("Your chain still holds the signed head.")])


def audit_heads_check(*, data: bytes, keys: list[PublishedKey] | None = None) -> HeadsCheck:
    """Checks a kept signed head (public statement or a tenant's own) against the chains now.
    Raises SignatureInvalid when the file is not genuine."""
    if keys is None:
        keys = keys_parse(signing_keys_published())
    verified = document_verify(data=data, keys=keys)
    document = verified.document
    lines = [f"Signature good: key {verified.key_id}, signed at {verified.signed_at.isoformat()}."]
    if verified.type == CHAIN_HEAD_TYPE:
        problems = [_chain_holds(tenant_id=document["tenant_id"], position=document["position"],
                                 head_hash=document["hash"])]
    elif verified.type == HEADS_TYPE:
        platform = document["platform_chain"]
        problems = [_chain_holds(tenant_id=None, position=platform["position"], head_hash=platform["hash"])]
        with dangerously_unscoped(reason="reading the kept list of signed heads"):
            kept = SignedAuditHeads.objects.filter(digest=document["chains_digest"]).first()
        if kept is None:
            lines.append("This portal keeps no list for this digest; only the platform chain was checked.")
        elif heads_digest(kept.heads) != document["chains_digest"]:
            problems.append("The kept list of chain heads no longer matches the signed digest.")
        else:
            problems += [_chain_holds(tenant_id=chain or None, position=position, head_hash=head_hash)
                         for chain, position, head_hash in kept.heads[1:]]
            lines.append(f"{len(kept.heads)} chains listed under the signed digest checked.")
    else:
        raise SignatureInvalid(gettext("A %(type)s document is not a signed audit head.") % {"type": repr(verified.type)})
    problems = [problem for problem in problems if problem]
    return HeadsCheck(ok=not problems, lines=lines + (problems or ["Every chain still holds the signed head."]))

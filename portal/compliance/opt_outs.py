"""A person's opt-out: suppression from the moment it is received, erasure once confirmed."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.utils import timezone

from portal.audit.journal import journal_append
from portal.audit.services import Actor, audit_record
from portal.sealing import seal
from portal.compliance.errors import OrderInvalid, OrderStateError
from portal.compliance.models import OptOut, OptOutEmbedding, RegulatoryOrder
from portal.compliance.orders import DEFAULT_SUBJECT_THRESHOLD, order_activate, order_create, reference_embeddings_of
from portal.gallery.regions import InvalidRegion, region_normalise
from tenants.context import dangerously_unscoped, scope_atomic
from django.utils.translation import gettext as _

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind


def opt_out_create(*, pictures: list[bytes], contact: str, consent: bool, channel: str, actor: Actor,
                   region: str = "", full_name: str = "", notes: str = "",
                   match_threshold: float = DEFAULT_SUBJECT_THRESHOLD) -> OptOut:
    """Records a person's opt-out with their suppression embeddings (pictures are not kept).
    Suppression starts at once: ingest refuses them and search filters them, in every gallery for
    an operator-entered opt-out, in the platform index only for a public request (a tenant's
    gallery changes only by that tenant's decision or an order). An operator-entered request is
    erased at once (opt_out_confirm); a public request waits for its requester to be verified
    (portal/rights/), since erasure cannot be undone."""
    if not consent:
        raise OrderInvalid(_("Consent to keep the suppression data is required."), field="consent")
    if not contact.strip():
        raise OrderInvalid(_("A contact address is required for the reply."), field="contact")
    if channel not in OptOut.Channel.values:
        raise OrderInvalid(_("Unknown channel."), field="channel")
    if region:
        try:
            region = region_normalise(code=region)
        except InvalidRegion as error:
            raise OrderInvalid(str(error), field="region") from error
    embeddings = reference_embeddings_of(pictures=pictures, field="pictures")
    # The face engine runs first, outside any transaction; then the platform writes.
    with dangerously_unscoped(reason="recording an opt-out"):
        opt_out = OptOut.objects.create(full_name=full_name.strip()[:200], contact=contact.strip()[:254],
                                        region=region, consent_given_at=timezone.now(), channel=channel,
                                        match_threshold=match_threshold, notes=notes, created_by_id=actor.user_id)
        OptOutEmbedding.objects.bulk_create(OptOutEmbedding(opt_out=opt_out, embedding=e.tolist(), picture_sha256=sha)
                                            for e, sha in embeddings)
        audit_record(action="optout.create", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"channel": channel, "region": region, "pictures": len(embeddings)})
        # Suppression must outlive a restore of a backup taken before it (portal/core/restores.py);
        # the person's identity goes into the journal sealed, as it is in the database.
        journal_append(kind="optout.create", data={
            "public_id": str(opt_out.public_id), "region": region, "channel": channel,
            "match_threshold": match_threshold, "consent_given_at": opt_out.consent_given_at.isoformat(),
            "identity": seal(f"{opt_out.full_name}\n{opt_out.contact}".encode(), purpose="journal.optout"),
            "embeddings": [[round(float(x), 7) for x in e] for e, _sha in embeddings],
            "picture_sha256": [sha for _e, sha in embeddings]})
    return opt_out


def opt_out_scope(opt_out: OptOut) -> dict:
    """Where confirming the opt-out erases (order_create's scope arguments)."""
    if opt_out.channel == OptOut.Channel.OPERATOR:
        return {"scope_all": True}
    return {"scope_all": False, "scope_tenants": [], "scope_platform_index": True}


def opt_out_order_reference(opt_out: OptOut) -> str:
    """The reference of the erasure order that confirming the opt-out files; the operator types
    it to confirm."""
    return f"OPT-OUT-{str(opt_out.public_id)[:8].upper()}"


@dangerously_unscoped(reason="platform code: opt_out_confirm")
def opt_out_confirm(*, opt_out: OptOut, actor: Actor) -> RegulatoryOrder:
    """Erases the person as a subject order does: files the order, activates it (withholding every
    matching face at once) and returns it for enforcement. An opt-out the operator entered covers
    every gallery; one received through the public form covers the platform index only, the
    operator's own: each tenant decides for its gallery (portal/rights/)."""
    with scope_atomic():
        opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
        if opt_out.status != OptOut.Status.RECEIVED:
            raise OrderStateError(_("The opt-out is %(status)s.") % {"status": opt_out.get_status_display().lower()})
        today = timezone.localdate()
        order = order_create(
            actor=actor, kind=Kind.SUBJECT, authority="Data subject (opt-out request)",
            reference=opt_out_order_reference(opt_out), received_on=opt_out.created_at.date(),
            effective_at=timezone.now(), deadline=today + timedelta(days=30), match_threshold=opt_out.match_threshold,
            reference_embeddings=[np.asarray(e.embedding, dtype=np.float32) for e in opt_out.embeddings.all()],
            opt_out=opt_out, **opt_out_scope(opt_out))
        opt_out.status = OptOut.Status.ENFORCING
        opt_out.save(update_fields=["status"])
        audit_record(action="optout.confirm", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"order_id": order.pk})
    return order_activate(order=order, actor=actor)


@dangerously_unscoped(reason="platform code: opt_out_reject")
def opt_out_reject(*, opt_out: OptOut, actor: Actor, reason: str) -> OptOut:
    with scope_atomic():
        opt_out = OptOut.objects.select_for_update().get(pk=opt_out.pk)
        if opt_out.status != OptOut.Status.RECEIVED:
            raise OrderStateError(_("The opt-out is %(status)s.") % {"status": opt_out.get_status_display().lower()})
        opt_out.status = OptOut.Status.REJECTED
        opt_out.notes = (opt_out.notes + "\n" if opt_out.notes else "") + f"Rejected: {reason}"
        opt_out.save(update_fields=["status", "notes"])
        OptOutEmbedding.objects.filter(opt_out=opt_out).delete()  # no consent basis to keep them
        audit_record(action="optout.reject", actor=actor, target_type="optout", target_id=opt_out.pk,
                     details={"reason": reason})
    return opt_out

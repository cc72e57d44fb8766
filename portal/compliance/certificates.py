"""Verification that nothing an order covers remains, and the certificate that says so."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from portal.audit.services import Actor, audit_chains_anchor, audit_head, audit_record
from portal.audit.signing import document_sign_now, signing_key_current
from portal.compliance import coverage
from portal.compliance.errors import OrderStateError
from portal.compliance.models import OrderFileDeletion, OrderTenantProgress, RegulatoryOrder
from portal.gallery.signals import copies_dangling_count
from portal.search.recalls import recall_notices_of_order
from tenants.context import dangerously_unscoped, scope_atomic
from tenants.models import Tenant
from django.utils.translation import gettext as _

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind


def order_verify(*, order: RegulatoryOrder, actor: Actor) -> RegulatoryOrder:
    """Proves nothing the order covers remains: no covered row (images, faces, probes, matches)
    and none of the files its enforcement deleted (originals, thumbnails, crops, probes) still in
    storage. Verified only then."""
    with dangerously_unscoped(reason="verifying an order across tenants"):
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status not in {Status.COMPLETED, Status.VERIFIED}:
            raise OrderStateError(_("Only a completed order can be verified."))
        remaining = coverage.coverage_totals(coverage.coverage_count(order=order))
        tracked = OrderFileDeletion.objects.filter(order=order)
        pending = tracked.filter(deleted_at__isnull=True).count()
        still_there = [path for path in tracked.values_list("path", flat=True).iterator(chunk_size=5000)
                       if default_storage.exists(path)]
        checked_by_kind = dict(tracked.values_list("kind").annotate(n=Count("id")).order_by("kind"))
        remaining["cached_responses"] = _cached_responses_remaining(order=order)
        passed = not any(remaining.values()) and pending == 0 and not still_there
        order.verification = {
            "passed": passed, "checked_at": timezone.now().isoformat(), "rows_remaining": remaining,
            "files_checked": tracked.count(), "files_checked_by_kind": checked_by_kind, "files_pending": pending, "files_remaining": len(still_there),
            "files_remaining_sample": still_there[:20],
        }
        fields = ["verification"]
        if passed:
            order.status, order.verified_at = Status.VERIFIED, timezone.now()
            fields += ["status", "verified_at"]
        order.save(update_fields=fields)
        audit_record(action="order.verify" if passed else "order.verify_failed", actor=actor, target_type="order",
                     target_id=order.pk, details={"reference": order.reference, **order.verification})
        if passed:
            signing_key_current()  # a first key is recorded before the head the certificate pins
            order.certificate = _certificate_build(order=order)
            order.certificate_signed = _certificate_sign(certificate=order.certificate)
            order.save(update_fields=["certificate", "certificate_signed"])
    return order


def _certificate_sign(*, certificate: dict) -> str:
    return document_sign_now(document={**certificate, "type": certificate["certificate"]}).decode()


def order_certificate_signed(*, order: RegulatoryOrder, actor: Actor) -> bytes:
    """The order's certificate as a signed file. A certificate issued before certificates were
    signed is signed at its first download, and kept: every later download is the same file."""
    if not order.certificate:
        raise OrderStateError(gettext("The order has no certificate yet: it is issued once deletion is verified."))
    if order.certificate_signed:
        return order.certificate_signed.encode()
    with dangerously_unscoped(reason="signing an order's certificate"), scope_atomic():
        locked = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if not locked.certificate_signed:
            locked.certificate_signed = _certificate_sign(certificate=locked.certificate)
            locked.save(update_fields=["certificate_signed"])
            audit_record(action="order.certificate_sign", actor=actor, target_type="order", target_id=order.pk,
                         details={"reference": order.reference})
    order.certificate_signed = locked.certificate_signed
    return order.certificate_signed.encode()


def _cached_responses_remaining(*, order: RegulatoryOrder) -> int:
    """Copies held elsewhere (the API's stored responses) that still name a deleted face, in the
    galleries the order reaches; for offboarding, any copy of the tenants' data at all."""
    if order.kind == Kind.OFFBOARDING:
        tenant_ids, any_copy = list(order.offboard_tenant_ids), True
    else:
        tenant_ids, any_copy = (None if order.scope_all else list(order.scope_tenant_ids)), False
    return sum(count or 0 for _receiver, count in copies_dangling_count.send(
        sender=RegulatoryOrder, tenant_ids=tenant_ids, any_copy=any_copy))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _backups_statement(*, order: RegulatoryOrder) -> dict:
    """Backups taken before the deletion finished may still hold the data: beyond use (never
    served; a restore re-applies the order before the portal serves anything) until the last of
    them expires, BACKUP_RETENTION_DAYS after the deletion was verified."""
    days = settings.BACKUP_RETENTION_DAYS
    return {"retention_days": days,
            "last_copy_expires_at": _iso(order.verified_at + timedelta(days=days)) if order.verified_at else None,
            "restore_reapplies_order": True}


def _certificate_build(*, order: RegulatoryOrder) -> dict:
    tenants = {t.pk: t for t in Tenant.objects.filter(
        pk__in=[p.tenant_id for p in OrderTenantProgress.objects.filter(order=order) if p.tenant_id])}
    galleries = []
    for progress in OrderTenantProgress.objects.filter(order=order).order_by("tenant_id"):
        tenant = tenants.get(progress.tenant_id)
        galleries.append({
            "gallery": "platform index" if tenant is None else tenant.slug,
            "tenant_id": progress.tenant_id, "tenant_name": tenant.name if tenant else "Platform index",
            "covered_at_activation": progress.covered, "deleted": progress.deleted,
        })
    audit_chains_anchor()  # so the platform head below pins every tenant chain as it is now
    position, head_hash = audit_head()
    return {
        "certificate": "regulatory-order-enforcement/1",
        "order": {"id": order.pk, "kind": order.kind, "authority": order.authority, "reference": order.reference,
                  "regions": order.regions, "include_unknown_region": order.include_unknown_region,
                  "domains": order.domains, "match_threshold": order.match_threshold,
                  "reference_faces": order.reference_faces.count(),
                  "offboard_tenant_ids": order.offboard_tenant_ids, "scope_all": order.scope_all,
                  "scope_tenant_ids": order.scope_tenant_ids, "scope_platform_index": order.scope_platform_index},
        "times": {"received_on": _iso(order.received_on), "effective_at": _iso(order.effective_at),
                  "deadline": _iso(order.deadline), "activated_at": _iso(order.activated_at),
                  "enforcement_started_at": _iso(order.enforcement_started_at),
                  "completed_at": _iso(order.completed_at), "verified_at": _iso(order.verified_at),
                  "within_deadline": bool(order.verified_at and order.verified_at.date() <= order.deadline)},
        "totals": {"covered_at_activation": order.covered, "deleted": order.deleted},
        "galleries": galleries,
        "verification": order.verification,
        # GDPR Art. 19: the tenants that had received covered faces were told, and how many said so.
        "recall_notices": recall_notices_of_order(order_id=order.pk),
        "audit_chain_head": {"chain": "platform", "position": position, "hash": head_hash},
        "backups": _backups_statement(order=order),
        "issued_at": timezone.now().isoformat(),
    }

"""Regulatory orders: filing, activation, withholding, the sweep and deadline warnings.

Activation puts an order in force in one short transaction, and from its commit no search of any
tenant returns a covered face: the similarity query applies the conditions of every order in
force (portal/compliance/gates.py: order_search_exclusion), whatever the `withheld` flags say
yet. Enforcement (enforcement.py) then deletes what the order covers, and verification
(certificates.py) proves nothing is left.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import numpy as np
from django.core.mail import send_mail
from django.utils import timezone

from portal.audit.journal import journal_append
from portal.audit.services import Actor, audit_record
from portal.compliance import coverage
from portal.compliance.errors import OrderInvalid, OrderStateError
from portal.compliance.models import OptOut, OrderReferenceFace, OrderTenantProgress, RegulatoryOrder
from portal.faces.engine import face_engine
from portal.faces.errors import FaceEngineError
from portal.gallery.regions import InvalidRegion, domain_from_url, region_normalise
from portal.gallery.signals import faces_restricted
from portal.webhooks.events import order_activated_emit
from tenants.context import dangerously_unscoped, scope_atomic, scope_connection
from tenants.models import Tenant, User
from django.utils.translation import gettext as _, ngettext

logger = logging.getLogger(__name__)

Status = RegulatoryOrder.Status
Kind = RegulatoryOrder.Kind


DEFAULT_SUBJECT_THRESHOLD = 0.90  # same person 0.914-1.000 on the reference pictures; others at most 0.888


def reference_embeddings_of(*, pictures: list[bytes], field: str) -> list[tuple[np.ndarray, str]]:
    """The largest face of each picture, with the picture's SHA-256 (FaceEngineError subclasses
    propagate, e.g. NoFaceFound). Subject orders and opt-outs keep these, never the pictures."""
    if not pictures:
        raise OrderInvalid(_("At least one picture of the person is needed."), field=field)
    found = []
    for data in pictures:
        try:
            detection = face_engine().faces_detect(data=data)
            found.append((detection.largest().embedding, detection.image.sha256))
        except FaceEngineError as error:
            error.field = error.field or field  # the form or API field the picture came in
            raise
    return found


def order_create(*, actor: Actor, kind: str, authority: str, reference: str, received_on: date,
                 effective_at: datetime, deadline: date, description: str = "", regions: list[str] | None = None,
                 include_unknown_region: bool = False, domains: list[str] | None = None,
                 reference_pictures: list[bytes] | None = None, reference_embeddings: list[np.ndarray] | None = None,
                 match_threshold: float | None = None, offboard_tenants: list[Tenant] | None = None,
                 scope_all: bool = True, scope_tenants: list[Tenant] | None = None, scope_platform_index: bool = True,
                 opt_out: OptOut | None = None) -> RegulatoryOrder:
    """Files an order as a draft. Nothing is withheld until order_activate()."""
    if kind not in Kind.values:
        raise OrderInvalid(_("kind must be one of %(kinds)s.") % {"kinds": ', '.join(Kind.values)}, field="kind")
    if not authority.strip():
        raise OrderInvalid(_("The issuing authority is required."), field="authority")
    if not reference.strip():
        raise OrderInvalid(_("The authority's reference is required."), field="reference")
    if RegulatoryOrder.objects.filter(reference=reference.strip()).exists():
        raise OrderInvalid(_("An order with reference %(reference)s exists already.") % {"reference": repr(reference.strip())}, field="reference")
    if deadline < received_on:
        raise OrderInvalid(_("The deadline is before the order was received."), field="deadline")
    order = RegulatoryOrder(
        kind=kind, authority=authority.strip()[:200], reference=reference.strip()[:100], description=description,
        received_on=received_on, effective_at=effective_at, deadline=deadline, created_by_id=actor.user_id,
        scope_all=scope_all, scope_platform_index=scope_platform_index if not scope_all else True,
        scope_tenant_ids=[] if scope_all else sorted(t.pk for t in scope_tenants or []), opt_out=opt_out,
    )
    if not scope_all and not order.scope_tenant_ids and not order.scope_platform_index:
        raise OrderInvalid(_("Choose at least one tenant or the platform index."), field="scope_tenants")
    embeddings: list[tuple[np.ndarray, str]] = []
    if kind == Kind.REGIONAL:
        try:
            order.regions = sorted({region_normalise(code=code) for code in regions or [] if code.strip()})
        except InvalidRegion as error:
            raise OrderInvalid(str(error), field="regions") from error
        order.include_unknown_region = include_unknown_region
        if not order.regions and not include_unknown_region:
            raise OrderInvalid(_("A regional order needs at least one region."), field="regions")
    elif kind == Kind.SOURCE:
        normalised = []
        for raw in domains or []:
            if not raw.strip():
                continue
            domain = domain_from_url(url=raw)
            if domain is None:
                raise OrderInvalid(_("%(raw)s is not a domain.") % {"raw": repr(raw)}, field="domains")
            normalised.append(domain)
        order.domains = sorted(set(normalised))
        if not order.domains:
            raise OrderInvalid(_("A source order needs at least one domain."), field="domains")
    elif kind == Kind.SUBJECT:
        threshold = DEFAULT_SUBJECT_THRESHOLD if match_threshold is None else float(match_threshold)
        if not 0.5 <= threshold <= 1.0:
            raise OrderInvalid(_("The match threshold is a similarity between 0.5 and 1."), field="match_threshold")
        order.match_threshold = threshold
        if reference_embeddings is not None:
            embeddings = [(np.asarray(e, dtype=np.float32), "") for e in reference_embeddings]
        else:
            embeddings = reference_embeddings_of(pictures=reference_pictures or [], field="reference_pictures")
    elif kind == Kind.OFFBOARDING:
        order.offboard_tenant_ids = sorted({t.pk for t in offboard_tenants or []})
        if not order.offboard_tenant_ids:
            raise OrderInvalid(_("Choose the tenants to offboard."), field="offboard_tenants")
        order.scope_all, order.scope_tenant_ids = False, list(order.offboard_tenant_ids)
        order.scope_platform_index = False
    # The face engine (reference pictures) runs first, outside any transaction; then the writes.
    with dangerously_unscoped(reason="filing an order"):
        order.save()
        OrderReferenceFace.objects.bulk_create(
            OrderReferenceFace(order=order, embedding=e.tolist(), picture_sha256=sha) for e, sha in embeddings)
        audit_record(action="order.create", actor=actor, target_type="order", target_id=order.pk,
                     details={"kind": kind, "authority": order.authority, "reference": order.reference,
                              "regions": order.regions, "domains": order.domains,
                              "reference_faces": len(embeddings), "offboard_tenant_ids": order.offboard_tenant_ids,
                              "scope_all": order.scope_all, "scope_tenant_ids": order.scope_tenant_ids,
                              "deadline": deadline.isoformat()})
    return order


@dangerously_unscoped(reason="platform code: order_delete_draft")
def order_delete_draft(*, order: RegulatoryOrder, actor: Actor) -> None:
    with scope_atomic():
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != Status.DRAFT:
            raise OrderStateError(_("Only a draft can be withdrawn; an order in force stays on record."))
        audit_record(action="order.withdraw", actor=actor, target_type="order", target_id=order.pk,
                     details={"reference": order.reference})
        order.delete()


def order_cause(order: RegulatoryOrder) -> dict:
    """What recall notices (GDPR Art. 19) name as the reason; an offboarded tenant is not told
    about its own gallery, which goes with its searches and notices."""
    return {"kind": "order", "reference": f"{order.authority} {order.reference}", "order_id": order.pk,
            "skip_tenant_ids": list(order.offboard_tenant_ids or [])}


def coverage_withhold(*, order: RegulatoryOrder) -> tuple[int, int]:
    """Sets `withheld` on the faces and images the order covers that are not flagged yet; returns
    (faces, images) flagged. Runs in the caller's transaction and (unscoped) context."""
    faces = coverage.face_predicate(order=order)
    images = coverage.image_predicate(order=order)
    with scope_connection().cursor() as cursor:
        # Faces first: they are what search reads.
        cursor.execute(f"UPDATE gallery_face f SET withheld = true WHERE NOT f.withheld AND {faces.sql}"
                       f" RETURNING f.uuid", faces.params)
        restricted = [str(uuid) for (uuid,) in cursor.fetchall()]
        faces_withheld = len(restricted)
        cursor.execute(f"UPDATE gallery_image i SET withheld = true WHERE NOT i.withheld AND {images.sql}",
                       images.params)
        images_withheld = cursor.rowcount
    # Restricted faces are recalled from the tenants that received them (GDPR Art. 19).
    faces_restricted.send(sender=RegulatoryOrder, face_uuids=restricted, cause=order_cause(order))
    return faces_withheld, images_withheld


# Not wrapped in dangerously_unscoped() as a whole: its steps each open their own unscoped
# transaction, so that the activation commits before the flags, the count and the notices.
def order_activate(*, order: RegulatoryOrder, actor: Actor, record_coverage: bool = True) -> RegulatoryOrder:
    """Puts the order in force. From the commit of one short transaction, no search of any tenant
    returns a covered face and the ingest gate refuses what the order covers.

    How "at once" holds at any gallery size: the similarity query applies the conditions of every
    order in force (order_search_exclusion), so for regional, source and offboarding orders the
    commit of the status change is what hides their faces. Their `withheld` flags, which the
    gallery pages, the API and the counters read, are then set straight after the commit
    (order_withhold_flags); the sweep and enforcement set them again, so a crash in between loses
    nothing. A subject order's faces are found by similarity, which the search cannot test per
    row, so they are withheld inside the activation transaction; they are one person's pictures.
    Offboarded tenants are suspended in the same transaction.
    """
    with dangerously_unscoped(reason="order activation withholds across tenants"):
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != Status.DRAFT:
            raise OrderStateError(_("The order is %(status)s, not a draft.") % {"status": order.get_status_display().lower()})
        details = {"reference": order.reference}
        if order.kind == Kind.SUBJECT:
            details["faces_withheld"], details["images_withheld"] = coverage_withhold(order=order)
        if order.kind == Kind.OFFBOARDING:
            Tenant.objects.filter(pk__in=order.offboard_tenant_ids).update(status=Tenant.Status.SUSPENDED)
        order.status, order.activated_at = Status.ACTIVE, timezone.now()
        order.save(update_fields=["status", "activated_at"])
        audit_record(action="order.activate", actor=actor, target_type="order", target_id=order.pk, details=details)
        # Before the commit, in a file apart from the database: a restore applies it again.
        journal_append(kind="order.activate", data=order_journal_data(order=order))
    if order.kind != Kind.SUBJECT:
        order_withhold_flags(order=order, actor=actor)
    # Counted after the commit, so that the counting does not delay the moment nothing is visible;
    # the gate already refuses new covered data, so the count is what was there.
    if not record_coverage:
        return order
    order = order_coverage_record(order=order)
    order_activated_notify(order=order)
    return order


def order_activated_notify(*, order: RegulatoryOrder) -> int:
    """Sends `order.activated` to each tenant the order affects: its gallery holds covered faces
    or pictures, its searches matched covered faces, or it is offboarded. Returns how many."""
    with dangerously_unscoped(reason="telling the tenants an order affects"):
        affected = {p.tenant_id: p.covered for p in OrderTenantProgress.objects.filter(order=order)
                    if p.tenant_id is not None and any((p.covered or {}).values())}
        for tenant_id in order.offboard_tenant_ids or []:
            affected.setdefault(tenant_id, {})
        for tenant in Tenant.objects.filter(pk__in=list(affected)).order_by("pk"):
            order_activated_emit(tenant=tenant, order_reference=order.reference, kind=order.kind,
                                 authority=order.authority, activated_at=order.activated_at.isoformat(),
                                 faces_covered=affected[tenant.pk].get("faces"))
    return len(affected)


def order_journal_data(*, order: RegulatoryOrder) -> dict:
    """Everything needed to file and activate the order again in a database that lacks it."""
    return {
        "kind": order.kind, "authority": order.authority, "reference": order.reference,
        "description": order.description, "received_on": order.received_on.isoformat(),
        "effective_at": order.effective_at.isoformat(), "deadline": order.deadline.isoformat(),
        "regions": order.regions, "include_unknown_region": order.include_unknown_region, "domains": order.domains,
        "match_threshold": order.match_threshold, "offboard_tenant_ids": order.offboard_tenant_ids,
        "scope_all": order.scope_all, "scope_tenant_ids": order.scope_tenant_ids,
        "scope_platform_index": order.scope_platform_index,
        "opt_out_public_id": str(order.opt_out.public_id) if order.opt_out_id else None,
        "reference_embeddings": [[round(float(x), 7) for x in face.embedding]
                                 for face in order.reference_faces.order_by("id")],
    }


def order_withhold_flags(*, order: RegulatoryOrder, actor: Actor) -> tuple[int, int]:
    """Sets `withheld` on every face and image the order covers that is not yet flagged, in one
    transaction of its own, and audits the counts."""
    with dangerously_unscoped(reason="withholding an order's coverage across tenants"):
        faces_withheld, images_withheld = coverage_withhold(order=order)
        audit_record(action="order.withhold", actor=actor, target_type="order", target_id=order.pk,
                     details={"reference": order.reference, "faces_withheld": faces_withheld,
                              "images_withheld": images_withheld})
    return faces_withheld, images_withheld


def order_coverage_record(*, order: RegulatoryOrder) -> RegulatoryOrder:
    with dangerously_unscoped(reason="recording what an order covers in every gallery"):
        counts = coverage.coverage_count(order=order)
        order = RegulatoryOrder.objects.select_for_update().get(pk=order.pk)
        for tenant_id, covered in counts.items():
            progress, _created = OrderTenantProgress.objects.get_or_create(order=order, tenant_id=tenant_id)
            progress.covered = covered
            progress.save(update_fields=["covered"])
        order.covered = coverage.coverage_totals(counts)
        order.save(update_fields=["covered"])
    return order


def orders_sweep() -> list[int]:
    """Re-applies every order in force to the data as it is now: withholds what it covers and
    returns the orders that still have covered rows, for enforcement."""
    pending = []
    with dangerously_unscoped(reason="sweeping orders in force against new data"):
        for order in RegulatoryOrder.objects.exclude(status=Status.DRAFT).order_by("id"):
            faces_withheld, images_withheld = coverage_withhold(order=order)
            if faces_withheld or images_withheld:
                audit_record(action="order.sweep", actor=Actor.system("order sweep"), target_type="order",
                             target_id=order.pk, details={"faces_withheld": faces_withheld,
                                                          "images_withheld": images_withheld})
            remaining = coverage.coverage_totals(coverage.coverage_count(order=order))
            if order.status in {Status.ACTIVE, Status.EXECUTING} or any(remaining.values()):
                pending.append(order.pk)
    _opt_outs_completed_mark()
    return pending


@dangerously_unscoped(reason="platform code: _opt_outs_completed_mark")
def _opt_outs_completed_mark() -> int:
    """Marks opt-outs whose erasure order is verified as completed."""
    done = OptOut.objects.filter(status=OptOut.Status.ENFORCING, order__status=Status.VERIFIED)
    return done.update(status=OptOut.Status.COMPLETED)


@dangerously_unscoped(reason="platform code: order_deadlines_warn")
def order_deadlines_warn(*, within_days: int = 14) -> list[RegulatoryOrder]:
    """Warns (log, audit, e-mail to operators) once a day for each order in force, not yet
    verified, whose deadline is within `within_days` or past."""
    today = timezone.localdate()
    due = list(RegulatoryOrder.objects.exclude(status__in=[Status.VERIFIED]).filter(
        deadline__lte=today + timedelta(days=within_days)).exclude(deadline_warned_on=today))
    if not due:
        return []
    recipients = list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
    for order in due:
        days = (order.deadline - today).days
        names = {"order": f"{order.authority} {order.reference}", "status": order.get_status_display(),
                 "days": abs(days), "deadline": order.deadline.isoformat()}
        if days >= 0:
            text = ngettext("Order %(order)s (%(status)s) is due in %(days)s day, on %(deadline)s.",
                            "Order %(order)s (%(status)s) is due in %(days)s days, on %(deadline)s.", days) % names
        else:
            text = ngettext("Order %(order)s (%(status)s) was due %(days)s day ago, on %(deadline)s.",
                            "Order %(order)s (%(status)s) was due %(days)s days ago, on %(deadline)s.", -days) % names
        logger.warning(text)
        audit_record(action="order.deadline_warning", actor=Actor.system("deadline warnings"), target_type="order",
                     target_id=order.pk, details={"deadline": order.deadline.isoformat(), "days_left": days})
        if recipients:
            send_mail(_("Deadline: %(reference)s") % {"reference": order.reference}, text, None, recipients, fail_silently=True)
        RegulatoryOrder.objects.filter(pk=order.pk).update(deadline_warned_on=today)
    return due

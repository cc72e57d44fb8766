"""Recipients are told (GDPR Art. 19): every face shown to a tenant is recorded (a search's
results on the page or by the API, an evidence export); when faces are erased or restricted, by
any path, each tenant that received them gets a recall notice naming the searches and case
references concerned, in the deleting (or restricting) transaction, and a `disclosure.recalled`
webhook. A member acknowledges the notice; both are audited.

The gallery and compliance do not know about disclosures: they send `faces_deleted` and
`faces_restricted` (portal/gallery/signals.py) with a `cause`, and the receivers here act.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.search.models import FaceDisclosure, RecallNotice, Search
from portal.webhooks.events import disclosure_recalled_emit
from tenants.context import scope_atomic, tenant_scope
from tenants.models import Tenant

SHOWN = 100


def face_disclosures_record(*, tenant: Tenant, search: Search, faces: Iterable[tuple], via: str) -> None:
    """Records that the search's `faces` ((face uuid, picture public id or None) pairs) were shown
    to the tenant `via` the page, the API or an evidence export; once per face, search and way."""
    rows = [FaceDisclosure(tenant=tenant, search_public_id=search.public_id, case_reference=search.case_reference,
                           face_uuid=face_uuid, image_public_id=image_id, via=via) for face_uuid, image_id in faces]
    if rows:
        FaceDisclosure.objects.bulk_create(rows, ignore_conflicts=True)


def _cause_of(cause: dict | None) -> tuple[str, str, int | None, set]:
    cause = cause or {}
    return (cause.get("kind", RecallNotice.Cause.ERASURE), str(cause.get("reference", ""))[:200],
            cause.get("order_id"), set(cause.get("skip_tenant_ids") or ()))


def _recall(*, face_uuids: list[str], action: str, cause: dict | None) -> int:
    """Creates (or grows, while unacknowledged) one notice per recipient tenant; returns how many
    tenants were told. Runs in the sender's scope: a tenant's own deletion sees its own
    disclosures only (nobody else can have received its gallery's faces); unscoped work sees all."""
    if not face_uuids:
        return 0
    kind, reference, order_id, skip = _cause_of(cause)
    received: dict[int, dict] = defaultdict(lambda: {"faces": set(), "searches": {}})
    for tenant_id, face_uuid, search_id, case_reference in (
            FaceDisclosure.objects.filter(face_uuid__in=face_uuids).exclude(tenant_id__in=skip)
            .values_list("tenant_id", "face_uuid", "search_public_id", "case_reference").order_by("id")):
        received[tenant_id]["faces"].add(str(face_uuid))
        received[tenant_id]["searches"][str(search_id)] = case_reference
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in=list(received))}
    with scope_atomic():
        for tenant_id, got in sorted(received.items()):
            tenant = tenants[tenant_id]
            notice = (RecallNotice.objects.select_for_update()
                      .filter(tenant_id=tenant_id, action=action, cause=kind, cause_reference=reference,
                              order_id=order_id, acknowledged_at__isnull=True).first())
            searches = [{"search": s, "case_reference": c} for s, c in got["searches"].items()]
            if notice is None:
                notice = RecallNotice(tenant=tenant, action=action, cause=kind, cause_reference=reference,
                                      order_id=order_id, face_uuids=[], searches=[])
            known = {s["search"] for s in notice.searches}
            notice.face_uuids = sorted({str(f) for f in notice.face_uuids} | got["faces"])
            notice.searches = notice.searches + [s for s in searches if s["search"] not in known]
            notice.save()
            audit_record(action="recall.notice", actor=Actor.system("recall notices"), tenant=tenant,
                         target_type="recall_notice", target_id=notice.public_id,
                         details={"action": action, "cause": kind, "reference": reference,
                                  "faces": len(got["faces"]), "searches": sorted(got["searches"])})
            disclosure_recalled_emit(tenant=tenant, notice_id=str(notice.public_id), action=action,
                                     cause={"kind": kind, "reference": reference},
                                     faces=len(notice.face_uuids), searches=notice.searches,
                                     created_at=notice.created_at.isoformat())
    return len(received)


def recall_on_faces_deleted(*, face_uuids: list[str], cause: dict | None = None, **signal_kwargs) -> dict:
    """Receiver of gallery.signals.faces_deleted. Removes no copy: it returns {}."""
    _recall(face_uuids=face_uuids, action=RecallNotice.Action.ERASED, cause=cause)
    return {}


def recall_on_faces_restricted(*, face_uuids: list[str], cause: dict | None = None, **signal_kwargs) -> dict:
    _recall(face_uuids=face_uuids, action=RecallNotice.Action.RESTRICTED, cause=cause)
    return {}


def recalls_forget_tenants(*, tenant_ids: list[int], **signal_kwargs) -> dict[int, int]:
    """Receiver of gallery.signals.gallery_erased: an offboarded tenant's disclosures and notices
    (its case references) go with its gallery."""
    removed: dict[int, int] = {}
    for model in (FaceDisclosure, RecallNotice):
        for tenant_id, n in (model.objects.filter(tenant_id__in=tenant_ids).values("tenant_id")
                             .annotate(n=Count("id")).values_list("tenant_id", "n")):
            removed[tenant_id] = removed.get(tenant_id, 0) + n
        model.objects.filter(tenant_id__in=tenant_ids).delete()
    return removed


def recall_notices_list(*, tenant: Tenant, limit: int = SHOWN) -> list[RecallNotice]:
    with tenant_scope(tenant):
        return list(RecallNotice.objects.filter(tenant=tenant).order_by(
            F("acknowledged_at").desc(nulls_first=True), "-created_at")[:limit])


def recall_notices_open_count(*, tenant: Tenant) -> int:
    with tenant_scope(tenant):
        return RecallNotice.objects.filter(tenant=tenant, acknowledged_at__isnull=True).count()


def recall_notice_get(*, tenant: Tenant, public_id) -> RecallNotice:
    with tenant_scope(tenant):
        return RecallNotice.objects.get(tenant=tenant, public_id=public_id)


def recall_notice_acknowledge(*, tenant: Tenant, notice: RecallNotice, actor: Actor) -> RecallNotice:
    with tenant_scope(tenant), scope_atomic():
        notice = RecallNotice.objects.select_for_update().get(pk=notice.pk, tenant=tenant)
        if notice.acknowledged_at is not None:
            raise DomainError(_("This notice was already acknowledged."), code="already_acknowledged", status=409)
        notice.acknowledged_at, notice.acknowledged_by_id = timezone.now(), actor.user_id
        notice.acknowledged_by_label = actor.label[:200]
        notice.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledged_by_label"])
        audit_record(action="recall.acknowledge", actor=actor, tenant=tenant, target_type="recall_notice",
                     target_id=notice.public_id, details={"faces": len(notice.face_uuids),
                                                          "searches": len(notice.searches)})
    return notice


def recall_notices_of_order(*, order_id: int) -> dict:
    """For an order's certificate (call unscoped): notices sent and acknowledged, per action."""
    rows = RecallNotice.objects.filter(order_id=order_id)
    return {"sent": rows.count(), "acknowledged": rows.filter(acknowledged_at__isnull=False).count(),
            "tenants": rows.values("tenant_id").distinct().count(),
            "erased": rows.filter(action=RecallNotice.Action.ERASED).count(),
            "restricted": rows.filter(action=RecallNotice.Action.RESTRICTED).count()}

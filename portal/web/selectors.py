"""Reads the portal pages need that no domain app offers yet. Each takes `tenant=` and answers
DoesNotExist (a 404) for another tenant's object, never a hint that it exists."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from portal.compliance.models import AuditEvent
from portal.gallery.models import Face
from portal.search.models import SearchMatch
from tenants.models import Membership, Tenant


def membership_get(*, tenant: Tenant, membership_id: int) -> Membership:
    return Membership.objects.select_related("user").get(tenant=tenant, pk=membership_id)


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """The first instant after the day, for `< day_end` filters that include the whole day."""
    return day_start(day + timedelta(days=1))


def audit_events_list(*, tenant: Tenant, action: str | None = None, actor: str | None = None,
                      created_from: date | None = None, created_to: date | None = None) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(tenant=tenant).order_by("-seq")
    if action:
        events = events.filter(action=action)
    if actor:
        events = events.filter(actor_label__icontains=actor)
    if created_from:
        events = events.filter(created_at__gte=day_start(created_from))
    if created_to:
        events = events.filter(created_at__lt=day_end(created_to))
    return events


def audit_actions(*, tenant: Tenant) -> list[str]:
    return list(AuditEvent.objects.filter(tenant=tenant).order_by("action").values_list("action", flat=True).distinct())


def face_for_crop(*, tenant: Tenant, face_uuid) -> Face:
    """A face whose crop this tenant may see: one of its own gallery, or a platform-index face that
    one of its searches returned. Raises Face.DoesNotExist otherwise."""
    own = Face.objects.filter(tenant=tenant, uuid=face_uuid).first()
    if own is not None:
        if own.withheld:
            raise Face.DoesNotExist
        return own
    # Platform faces are not in the tenant-scoped manager; a match row (tenant-scoped) proves that
    # this tenant was shown the face, and the FK fetch goes through RLS, which admits platform rows
    # only to entitled tenants.
    match = SearchMatch.objects.filter(tenant=tenant, face__uuid=face_uuid).select_related("face").first()
    if match is None or match.face.withheld:
        raise Face.DoesNotExist
    return match.face

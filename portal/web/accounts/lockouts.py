"""Members locked out by too many failed log-ins (django-axes), as their tenant's owner sees them,
and the owner's unlock. Axes counts failures per address and account (AXES_LOCKOUT_PARAMETERS);
a member is locked out while one of those counts has reached AXES_FAILURE_LIMIT within
AXES_COOLOFF_TIME. Unlocking clears the member's counts from every address, and is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from tenants.models import Membership, Tenant


@dataclass(frozen=True)
class Lockout:
    since: datetime
    until: datetime


def _cool_off() -> timedelta:
    return timedelta(hours=settings.AXES_COOLOFF_TIME)


def member_lockouts(*, memberships: list[Membership]) -> dict[int, Lockout]:
    """Lock-outs of these members (of one tenant, as the caller read them), by membership id."""
    by_email = {m.user.email: m.pk for m in memberships}
    since = timezone.now() - _cool_off()
    found: dict[int, Lockout] = {}
    # People type their address in any case; accounts keep it in lower case.
    attempts = AccessAttempt.objects.annotate(email=Lower("username")).filter(
        email__in=list(by_email), attempt_time__gte=since, failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    for attempt in attempts:
        pk = by_email[attempt.email]
        if pk not in found or attempt.attempt_time < found[pk].since:
            found[pk] = Lockout(since=attempt.attempt_time, until=attempt.attempt_time + _cool_off())
    return found


def member_unlock(*, tenant: Tenant, membership: Membership, actor: Actor) -> int:
    """Clears the member's failed log-ins; returns how many counts were cleared."""
    email = membership.user.email
    with transaction.atomic():
        cleared, _ = AccessAttempt.objects.filter(username__iexact=email).delete()
        audit_record(action="member.unlock", actor=actor, tenant=tenant, target_type="membership",
                     target_id=membership.public_id, details={"email": email, "cleared": cleared})
    return cleared

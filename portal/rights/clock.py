"""The clock of a request (GDPR Art. 12(3)): days left, overdue, and the reminders before the
deadline, to the operator for the platform's part and to each tenant for its forwarded part."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from portal.audit.services import Actor, audit_record
from portal.rights.models import DataSubjectRequest, ForwardedRequest
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Membership, Tenant, User

logger = logging.getLogger(__name__)
REMIND_WITHIN_DAYS = 7
Status = DataSubjectRequest.Status


def days_left(due_on) -> int:
    return (due_on - timezone.localdate()).days


def _reminder_text(*, reference: str, due_on) -> str:
    days = days_left(due_on)
    names = {"reference": reference, "days": abs(days), "deadline": due_on.isoformat()}
    if days >= 0:
        return ngettext("The data subject's request %(reference)s is due in %(days)s day, on %(deadline)s.",
                        "The data subject's request %(reference)s is due in %(days)s days, on %(deadline)s.",
                        days) % names
    return ngettext("The data subject's request %(reference)s was due %(days)s day ago, on %(deadline)s.",
                    "The data subject's request %(reference)s was due %(days)s days ago, on %(deadline)s.",
                    -days) % names


def platform_parts_awaiting():
    """Requests whose platform part awaits the operator: verification, or the decision."""
    return DataSubjectRequest.objects.filter(
        Q(status=Status.AWAITING_VERIFICATION) | Q(status=Status.IN_PROGRESS, platform_decided_at__isnull=True))


@dangerously_unscoped(reason="platform code: reminders of requests' deadlines")
def requests_deadlines_remind(*, within_days: int = REMIND_WITHIN_DAYS) -> dict[str, list[str]]:
    """Once a day per request and per forwarded copy: an e-mail (and an audit event) when its
    deadline is within `within_days` or past and the part is still undecided."""
    today = timezone.localdate()
    horizon = today + timedelta(days=within_days)
    reminded = {"platform": [], "tenants": []}
    staff = list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
    for request in platform_parts_awaiting().exclude(reminded_on=today).order_by("id"):
        if request.due_on > horizon:
            continue
        text = _reminder_text(reference=request.reference, due_on=request.due_on)
        logger.warning(text)
        audit_record(action="request.deadline_reminder", actor=Actor.system("deadline reminders"),
                     target_type="request", target_id=request.pk,
                     details={"deadline": request.due_on.isoformat(), "days_left": days_left(request.due_on)})
        if staff:
            send_mail(_("Deadline: %(reference)s") % {"reference": request.reference}, text, None, staff,
                      fail_silently=True)
        DataSubjectRequest.objects.filter(pk=request.pk).update(reminded_on=today)
        reminded["platform"].append(request.reference)
    due = list(ForwardedRequest.objects.filter(status=ForwardedRequest.Status.PENDING, deadline__lte=horizon)
               .exclude(reminded_on=today).order_by("id"))
    tenants = Tenant.objects.in_bulk({row.tenant_id for row in due})
    for row in due:
        tenant = tenants[row.tenant_id]
        text = _reminder_text(reference=row.reference, due_on=row.deadline)
        with tenant_scope(tenant):
            managers = list(Membership.objects.filter(tenant=tenant, role__in=[Membership.Role.OWNER,
                                                                               Membership.Role.ADMIN],
                                                      user__is_active=True).values_list("user__email", flat=True))
            audit_record(action="request.deadline_reminder", actor=Actor.system("deadline reminders"), tenant=tenant,
                         target_type="forwarded_request", target_id=row.public_id,
                         details={"deadline": row.deadline.isoformat(), "days_left": days_left(row.deadline)})
            ForwardedRequest.objects.filter(pk=row.pk).update(reminded_on=today)
        if managers:
            send_mail(_("Deadline: %(reference)s") % {"reference": row.reference},
                      text + "\n\n" + _("Decide it in your portal's Requests inbox."), None, managers,
                      fail_silently=True)
        reminded["tenants"].append(f"{tenant.slug}:{row.reference}")
    return reminded

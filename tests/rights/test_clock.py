"""The reminders before a request's deadline (GDPR Art. 12(3)): the operator for the platform's
part, each tenant's owners and admins for its forwarded part; once a day."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.audit.services import Actor
from portal.rights.clock import requests_deadlines_remind
from portal.rights.decisions import forwarded_decide
from portal.rights.models import DataSubjectRequest, ForwardedRequest
from portal.rights.selectors import requests_dashboard
from portal.rights.services import request_verify
from tenants.context import dangerously_unscoped
from tests.rights.conftest import SYSTEM, confirm_from, submit

pytestmark = pytest.mark.django_db


def test_reminders_go_to_the_operator_and_to_each_tenant_before_the_deadline(
        rights_gallery, two_tenants, faces_dir, smtp_server, user_factory, commit):
    a, b, c, images = rights_gallery
    staff = user_factory(is_staff=True, email="operator@platform.test")
    with commit():
        request = submit(faces_dir).request
    confirm_from(smtp_server.wait_for(1)[0])
    request_verify(request=request, actor=Actor.of_user(staff))
    with dangerously_unscoped(reason="test"):
        rows = {row.tenant_id: row for row in ForwardedRequest.objects.all()}
    forwarded_decide(tenant=c, public_id=rows[c.pk].public_id, actor=SYSTEM, comply=False, ground="other",
                     reasoning="Kept for a court case.")
    smtp_server.clear()
    assert requests_deadlines_remind() == {"platform": [], "tenants": []}  # a month ahead: too early

    today = timezone.localdate()
    with dangerously_unscoped(reason="test: the deadline nears"):
        DataSubjectRequest.objects.filter(pk=request.pk).update(deadline=today + timedelta(days=3))
        ForwardedRequest.objects.filter(request_id=request.pk).update(deadline=today - timedelta(days=1))
    reminded = requests_deadlines_remind()
    assert reminded["platform"] == [request.reference]
    assert sorted(reminded["tenants"]) == sorted([f"{a.slug}:{request.reference}", f"{b.slug}:{request.reference}"])
    messages = smtp_server.wait_for(3)
    to_staff = [m for m in messages if "operator@platform.test" in m.envelope_to]
    assert len(to_staff) == 1 and "due in 3 days" in to_staff[0].body
    to_a = [m for m in messages if two_tenants.a.owner.email in m.envelope_to]
    assert len(to_a) == 1 and "was due 1 day ago" in to_a[0].body
    assert two_tenants.a.investigator.email not in to_a[0].envelope_to  # owners and admins decide
    assert requests_deadlines_remind() == {"platform": [], "tenants": []}  # once a day

    dashboard = requests_dashboard()
    [row] = dashboard["rows"]
    assert row["days_left"] == 3 and not row["overdue"] and row["tenants_pending"] == 2
    assert dict((value, n) for value, _label, n in dashboard["by_status"])["in_progress"] == 1
    with dangerously_unscoped(reason="test: the deadline passes"):
        DataSubjectRequest.objects.filter(pk=request.pk).update(deadline=today - timedelta(days=2))
    [row] = requests_dashboard()["rows"]
    assert row["overdue"] and row["days_overdue"] == 2

"""The pages of requests: the tenant's inbox and decision page (another tenant's request is a 404
for every method), and the operator's dashboard and verification page."""

import re

import pytest
from django.test import Client

from portal.audit.services import Actor
from portal.rights.models import DataSubjectRequest, ForwardedRequest
from portal.rights.services import request_verify
from tenants.context import dangerously_unscoped
from tests.rights.conftest import confirm_from, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def forwarded(rights_gallery, faces_dir, smtp_server, commit, user_factory):
    a, b, c, images = rights_gallery
    with commit():
        request = submit(faces_dir).request
    confirm_from(smtp_server.wait_for(1)[0])
    request_verify(request=request, actor=Actor.of_user(user_factory(is_staff=True)))
    with dangerously_unscoped(reason="test"):
        return request, {row.tenant_id: row for row in ForwardedRequest.objects.all()}


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_another_tenants_forwarded_request_is_the_same_404_as_an_absent_one(forwarded, two_tenants, method):
    request, rows = forwarded
    a, b = two_tenants.a.tenant, two_tenants.b.tenant
    client = Client()
    client.force_login(two_tenants.b.owner)
    theirs = getattr(client, method)(f"/t/{b.slug}/requests/{rows[a.pk].public_id}/",
                                     {"decision": "comply", "confirm_reference": request.reference})
    absent = getattr(client, method)(f"/t/{b.slug}/requests/00000000-0000-4000-8000-000000000000/")
    assert theirs.status_code == absent.status_code == 404
    with dangerously_unscoped(reason="test"):
        assert ForwardedRequest.objects.get(pk=rows[a.pk].pk).status == "pending"


def test_the_inbox_shows_the_count_and_the_tenant_refuses_with_a_ground(forwarded, two_tenants):
    request, rows = forwarded
    a = two_tenants.a.tenant
    client = Client()
    client.force_login(two_tenants.a.owner)
    page = client.get(f"/t/{a.slug}/requests/").content.decode()
    assert request.reference in page and re.search(r'class="count"[^>]*>1<', page)
    url = f"/t/{a.slug}/requests/{rows[a.pk].public_id}/"
    response = client.post(url, {"decision": "refuse", "ground": "", "reasoning": ""})
    assert response.status_code == 200 and "legal ground" in response.content.decode()
    response = client.post(url, {"decision": "comply", "confirm_reference": "DSR-WRONG"})
    assert "Type the reference" in response.content.decode()
    with dangerously_unscoped(reason="test"):
        assert ForwardedRequest.objects.get(pk=rows[a.pk].pk).status == "pending"
    response = client.post(url, {"decision": "refuse", "ground": "law_enforcement",
                                 "reasoning": "Custody record held under national law."})
    assert response.status_code == 302
    with dangerously_unscoped(reason="test"):
        row = ForwardedRequest.objects.get(pk=rows[a.pk].pk)
    assert (row.status, row.ground) == ("refused", "law_enforcement")
    client.force_login(two_tenants.a.investigator)  # investigators do not decide requests
    assert client.get(f"/t/{a.slug}/requests/").status_code == 403


def test_the_operator_dashboard_shows_days_left_and_overdue_in_words(forwarded, staff_client):
    request, rows = forwarded
    page = staff_client.get("/platform/requests/").content.decode()
    assert request.reference in page and "Overdue" not in page
    with dangerously_unscoped(reason="test: the deadline passed"):
        DataSubjectRequest.objects.filter(pk=request.pk).update(deadline="2020-01-01")
    page = staff_client.get("/platform/requests/").content.decode()
    assert re.search(r'<tr class="overdue">.*?Overdue by \d+ days', page, re.S)

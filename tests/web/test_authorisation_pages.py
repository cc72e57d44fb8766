"""A law-enforcement search's authorisation on the pages (EU AI Act Art. 26(10))."""

import io

import pytest
from django.utils import timezone

from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest
from portal.search.authorisations import AuthorisationGiven, authorisations_overdue_erase
from portal.search.models import Authorisation, Search
from portal.search.services import search_run
from tenants.context import tenant_scope
from tests.builders import AUTHORISED_FORM

pytestmark = pytest.mark.django_db


def _post_search(client, faces_dir, **fields):
    picture = io.BytesIO((faces_dir / "obama_2.jpg").read_bytes())
    picture.name = "obama_2.jpg"
    return client.post("/t/agency-a/search/", {"picture": picture, "case_reference": "C-1", "purpose": "p", **fields})


@pytest.fixture
def urgent_search(two_tenants, faces_dir):
    tenant = two_tenants.a.tenant
    image_ingest(tenant=tenant, data=(faces_dir / "obama_1.jpg").read_bytes(), actor=Actor.system("test"),
                 legal_basis=LegalBasis.LAW_ENFORCEMENT)
    return search_run(tenant=tenant, actor=Actor.of_user(two_tenants.a.investigator), case_reference="C-2",
                      purpose="urgent", probe=(faces_dir / "obama_2.jpg").read_bytes(),
                      authorisation=AuthorisationGiven(urgent=True))


def test_only_law_enforcement_searches_ask_for_an_authorisation(client, two_tenants):
    client.force_login(two_tenants.a.investigator)
    page = client.get("/t/agency-a/search/").content.decode()
    assert "Authorising authority" in page and "Urgent: run now" in page
    client.force_login(two_tenants.b.investigator)
    assert "Authorising authority" not in client.get("/t/retailer-b/search/").content.decode()


def test_a_search_without_one_says_what_is_missing_and_stores_nothing(client, two_tenants, faces_dir):
    client.force_login(two_tenants.a.investigator)
    response = _post_search(client, faces_dir)
    assert response.status_code == 400 and "Art. 26(10)" in response.content.decode()
    response = _post_search(client, faces_dir, **AUTHORISED_FORM, urgent="on")
    assert response.status_code == 400 and "not both" in response.content.decode()
    with tenant_scope(two_tenants.a.tenant):
        assert not Search.objects.exists()
    assert _post_search(client, faces_dir, urgent="on").status_code == 302


def test_the_decision_on_an_urgent_search_is_recorded_on_its_page(client, two_tenants, urgent_search):
    url = f"/t/agency-a/searches/{urgent_search.public_id}/"
    client.force_login(two_tenants.a.auditor)
    page = client.get(url).content.decode()
    assert "Urgent, awaiting authorisation" in page and "Record the decision" not in page
    decision = {"decision": "refused", "authority": "Crown Court", "reference": "NO-1",
                "date": timezone.localdate().isoformat()}
    assert client.post(f"{url}authorisation/", decision).status_code == 403

    client.force_login(two_tenants.a.investigator)
    page = client.get(url).content.decode()
    assert "Record the decision" in page and "Due by" in page
    response = client.post(f"{url}authorisation/", {**decision, "date": "2999-01-01"}, follow=True)
    assert "in the future" in response.content.decode()
    response = client.post(f"{url}authorisation/", decision, follow=True)
    page = response.content.decode()
    assert "The refusal was recorded" in page and "its matches, its probe picture" in page
    assert 'id="leads-title"' not in page
    with tenant_scope(two_tenants.a.tenant):
        assert Search.objects.get(pk=urgent_search.pk).authorisation == Authorisation.REFUSED
    # Another tenant: the same 404 as an absent search.
    client.force_login(two_tenants.b.owner)
    assert client.post(f"/t/retailer-b/searches/{urgent_search.public_id}/authorisation/", decision).status_code == 404


def test_the_compliance_page_lists_pending_and_deleted_searches_for_owners_and_auditors(client, two_tenants,
                                                                                       urgent_search):
    client.force_login(two_tenants.a.investigator)
    assert client.get("/t/agency-a/compliance/").status_code == 403
    client.force_login(two_tenants.a.auditor)
    page = client.get("/t/agency-a/compliance/").content.decode()
    assert "C-2" in page and "left" in page and "Searches deleted without an authorisation" in page
    with tenant_scope(two_tenants.a.tenant):
        Search.objects.filter(pk=urgent_search.pk).update(authorisation_due_at=timezone.now())
    authorisations_overdue_erase()
    page = client.get("/t/agency-a/compliance/").content.decode()
    assert "Not authorised within 48 hours" in page and "Urgent searches awaiting an authorisation <span class=\"count\">0" in page
    client.force_login(two_tenants.b.owner)
    assert "C-2" not in client.get("/t/retailer-b/compliance/").content.decode()

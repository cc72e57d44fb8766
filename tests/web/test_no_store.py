"""Pages that show a secret or search results tell every cache (and the back button) not to keep
them: Cache-Control no-store."""

import pytest

from tests.web.conftest import search_make

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_a_new_api_key_is_not_stored(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    made = client.post("/t/agency-a/admin/api-keys/", {"name": "ci", "scopes": ["search"]})
    assert made.status_code == 200 and "fsk_" in made.content.decode() and _no_store(made)


def test_search_results_are_not_stored(client, two_tenants):
    search = search_make(tenant=two_tenants.a.tenant, user=two_tenants.a.investigator)
    client.force_login(two_tenants.a.investigator)
    response = client.get(f"/t/agency-a/searches/{search.public_id}/")
    assert response.status_code == 200 and _no_store(response)


def test_the_totp_enrolment_page_is_not_stored(client, user_factory):
    client.force_login(user_factory(is_staff=True))
    response = client.get("/platform/2fa/enrol/")
    assert response.status_code == 200 and _no_store(response)

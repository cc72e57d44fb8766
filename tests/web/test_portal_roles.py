"""Every portal page against every role: allowed roles 200, forbidden roles 403, a member of the
other tenant 404, and an anonymous visitor sent to log in."""

import pytest

pytestmark = pytest.mark.django_db

EVERYONE = {"owner", "admin", "investigator", "auditor"}
SEARCHERS = {"owner", "admin", "investigator"}
MANAGERS = {"owner", "admin"}
AUDITORS = {"owner", "auditor"}

# (name, url template, roles allowed); {search} and {subject} are tenant A's objects.
PAGES = [
    ("dashboard", "/t/agency-a/", EVERYONE),
    ("search", "/t/agency-a/search/", SEARCHERS),
    ("history", "/t/agency-a/searches/", EVERYONE),
    ("search detail", "/t/agency-a/searches/{search}/", EVERYONE),
    ("gallery", "/t/agency-a/subjects/", SEARCHERS),
    ("subject", "/t/agency-a/subjects/{subject}/", SEARCHERS),
    ("members", "/t/agency-a/admin/members/", MANAGERS),
    ("settings", "/t/agency-a/admin/settings/", MANAGERS),
    ("api keys", "/t/agency-a/admin/api-keys/", MANAGERS),
    ("audit log", "/t/agency-a/audit/", AUDITORS),
]


def _url(template, objects):
    return template.format(search=objects["a_search"].public_id, subject=objects["a_subject"].public_id)


@pytest.mark.parametrize("name,template,allowed", PAGES, ids=[p[0] for p in PAGES])
@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_page_answers_by_role(client, two_tenants, objects, name, template, allowed, role):
    client.force_login(getattr(two_tenants.a, role))
    response = client.get(_url(template, objects))
    if role in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "does not allow" in response.content.decode()


@pytest.mark.parametrize("name,template,allowed", PAGES, ids=[p[0] for p in PAGES])
def test_member_of_the_other_tenant_gets_404(client, two_tenants, objects, name, template, allowed):
    client.force_login(two_tenants.b.owner)
    assert client.get(_url(template, objects)).status_code == 404


@pytest.mark.parametrize("name,template,allowed", PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_visitor_is_sent_to_log_in(client, two_tenants, objects, name, template, allowed):
    url = _url(template, objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={url}")


@pytest.mark.parametrize("path", [
    "/t/agency-a/searches/{b_search}/",
    "/t/agency-a/searches/{b_search}/probe.jpg",
    "/t/agency-a/subjects/{b_subject}/",
])
def test_other_tenants_object_under_own_tenant_url_is_404(client, two_tenants, objects, path):
    client.force_login(two_tenants.a.owner)
    url = path.format(b_search=objects["b_search"].public_id, b_subject=objects["b_subject"].public_id)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("path", [
    "/t/agency-a/subjects/{b_subject}/delete/",
    "/t/agency-a/subjects/{b_subject}/enrol/",
])
def test_writing_to_another_tenants_subject_is_404(client, two_tenants, objects, path):
    client.force_login(two_tenants.a.owner)
    assert client.post(path.format(b_subject=objects["b_subject"].public_id)).status_code == 404


def test_navigation_shows_only_what_the_role_may_use(client, two_tenants):
    client.force_login(two_tenants.a.auditor)
    page = client.get("/t/agency-a/").content.decode()
    assert "/t/agency-a/audit/" in page and "/t/agency-a/searches/" in page
    assert "/t/agency-a/search/" not in page and "/t/agency-a/admin/members/" not in page
    client.force_login(two_tenants.a.investigator)
    page = client.get("/t/agency-a/").content.decode()
    assert "/t/agency-a/search/" in page and "/t/agency-a/audit/" not in page

"""A printed password (add_member's, the platform console's) must be changed at first log-in, and
then stops working; the account page lists a person's signed-in browsers and signs out of them."""

import uuid

import pytest
from django.test import Client

from portal.audit.models import AuditEvent
from tenants.context import dangerously_unscoped
from tenants.models import User, UserSession
from tenants.services import member_add, operator_create
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "my very own passphrase 2027"
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
MAC_SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Safari/605.1.15")


def _log_in(client, email, password):
    return client.post("/accounts/login/", {"username": email, "password": password})


def _change(client, old, new=NEW_PASSWORD, **extra):
    return client.post("/accounts/password_change/",
                       {"old_password": old, "new_password1": new, "new_password2": new}, **extra)


def test_a_one_time_password_leads_only_to_changing_it_and_then_stops_working(client, two_tenants):
    membership, one_time = member_add(tenant=two_tenants.b.tenant, email="fresh@example.test", role="investigator")
    assert one_time and User.objects.get(email="fresh@example.test").password_change_required
    assert _log_in(client, "fresh@example.test", one_time).status_code == 302

    # Every page, and the API with this session, sends the person to change it first.
    for path in ("/", "/t/retailer-b/", "/t/retailer-b/search/", "/accounts/", "/accounts/two-factor/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/password_change/"), path
    post = client.post("/t/retailer-b/admin/members/", {"email": "x@example.test", "role": "auditor"})
    assert post.status_code == 302 and post["Location"] == "/accounts/password_change/"
    api = client.get("/api/v1/subjects")
    assert api.status_code == 403 and api.json()["error"]["code"] == "password_change_required"
    assert api.json()["error"]["location"] == "/accounts/password_change/"
    form = client.get("/accounts/password_change/?next=/t/retailer-b/")
    assert form.status_code == 200 and "given to you by someone else" in form.content.decode()

    assert _change(client, one_time).status_code == 302
    assert client.get("/t/retailer-b/").status_code == 200
    assert not User.objects.get(email="fresh@example.test").password_change_required
    with dangerously_unscoped(reason="test: reading the platform chain"):
        assert AuditEvent.objects.filter(action="auth.password_change",
                                         details__printed_password_replaced=True).exists()
    client.logout()
    assert _log_in(client, "fresh@example.test", one_time).status_code == 200  # refused: the form again
    assert _log_in(client, "fresh@example.test", NEW_PASSWORD).status_code == 302


def test_a_password_chosen_by_the_person_is_not_forced(client, two_tenants):
    member_add(tenant=two_tenants.b.tenant, email="chose@example.test", role="investigator", password=TEST_PASSWORD)
    assert not User.objects.get(email="chose@example.test").password_change_required
    _log_in(client, "chose@example.test", TEST_PASSWORD)
    assert client.get("/t/retailer-b/").status_code == 200


def test_an_operators_printed_password_is_forced_too_also_on_the_platform_api(client, db):
    operator, one_time = operator_create(email="new-operator@example.test")
    assert _log_in(client, operator.email, one_time).status_code == 302
    api = client.get("/api/v1/platform/orders/")
    assert api.status_code == 403 and api.json()["error"]["code"] == "password_change_required"
    assert client.get("/platform/")["Location"].startswith("/accounts/password_change/")


def test_the_account_page_lists_sessions_and_signs_out_of_one_and_of_the_others(client, two_tenants):
    user = two_tenants.a.investigator
    phone, laptop = Client(HTTP_USER_AGENT=ANDROID_CHROME), Client(HTTP_USER_AGENT=WINDOWS_FIREFOX)
    for other in (phone, laptop):
        assert _log_in(other, user.email, TEST_PASSWORD).status_code == 302
    client.defaults["HTTP_USER_AGENT"] = MAC_SAFARI
    _log_in(client, user.email, TEST_PASSWORD)
    page = client.get("/accounts/").content.decode()
    for label in ("Chrome on Android", "Firefox on Windows", "Safari on macOS"):
        assert page.count(label) == 1, label
    assert page.count("this device") == 1 and "127.0.0.1" in page
    assert 'href="/accounts/"' in client.get("/t/agency-a/").content.decode()  # in the navigation

    phone_session = UserSession.objects.get(user=user, user_agent=ANDROID_CHROME)
    assert client.post(f"/accounts/sessions/{phone_session.public_id}/end/").status_code == 302
    assert phone.get("/t/agency-a/")["Location"].startswith("/accounts/login/")  # signed out
    assert phone.get("/t/agency-a/")["Location"].startswith("/accounts/login/")  # and stays so
    assert laptop.get("/t/agency-a/").status_code == 200

    assert client.post("/accounts/sessions/end-others/").status_code == 302
    assert laptop.get("/t/agency-a/")["Location"].startswith("/accounts/login/")
    assert client.get("/t/agency-a/").status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [MAC_SAFARI]
    with dangerously_unscoped(reason="test: reading the platform chain"):
        assert {"auth.session_end", "auth.sessions_end_others"} <= set(
            AuditEvent.objects.filter(actor_user_id=user.pk).values_list("action", flat=True))


def test_nobody_sees_or_ends_another_persons_session_same_404_as_none(client, two_tenants):
    victim = two_tenants.b.owner
    elsewhere = Client()
    _log_in(elsewhere, victim.email, TEST_PASSWORD)
    theirs = UserSession.objects.get(user=victim)
    _log_in(client, two_tenants.a.owner.email, TEST_PASSWORD)
    assert victim.email not in client.get("/accounts/").content.decode()
    foreign = client.post(f"/accounts/sessions/{theirs.public_id}/end/")
    absent = client.post(f"/accounts/sessions/{uuid.uuid4()}/end/")
    assert foreign.status_code == absent.status_code == 404
    assert elsewhere.get("/t/retailer-b/").status_code == 200  # still signed in
    assert client.get(f"/accounts/sessions/{theirs.public_id}/end/").status_code == 405


def test_logging_out_removes_the_session_row(client, two_tenants):
    user = two_tenants.a.auditor
    _log_in(client, user.email, TEST_PASSWORD)
    assert UserSession.objects.filter(user=user).count() == 1
    client.post("/accounts/logout/")
    assert UserSession.objects.filter(user=user).count() == 0


def test_ending_this_browsers_own_session_logs_it_out(client, two_tenants):
    user = two_tenants.a.auditor
    _log_in(client, user.email, TEST_PASSWORD)
    own = UserSession.objects.get(user=user)
    response = client.post(f"/accounts/sessions/{own.public_id}/end/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/t/agency-a/")["Location"].startswith("/accounts/login/")


def test_a_password_reset_by_email_replaces_a_printed_password_too(client, two_tenants, smtp_server):
    _membership, one_time = member_add(tenant=two_tenants.b.tenant, email="forgot@example.test", role="auditor")
    assert client.post("/accounts/password_reset/", {"email": "forgot@example.test"}).status_code == 302
    link = smtp_server.wait_for(1)[0].link(r"https?://[^/]+(/accounts/reset/\S+)").split("testserver", 1)[1]
    form_page = client.get(link, follow=True)
    client.post(form_page.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not User.objects.get(email="forgot@example.test").password_change_required
    assert _log_in(client, "forgot@example.test", one_time).status_code == 200  # refused
    assert _log_in(client, "forgot@example.test", NEW_PASSWORD).status_code == 302
    assert client.get("/t/retailer-b/").status_code == 200  # not sent to change it again

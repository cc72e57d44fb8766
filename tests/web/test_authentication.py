import re

import pytest
from django.core import mail

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def _log_in(client, email, password):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert 'name="username"' in response.content.decode()


def test_member_logs_in_and_reaches_their_tenant(client, two_tenants):
    response = _log_in(client, two_tenants.a.owner.email, TEST_PASSWORD)
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == "/t/agency-a/"


def test_wrong_password_says_so_and_does_not_log_in(client, two_tenants):
    response = _log_in(client, two_tenants.a.owner.email, "wrong password")
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert client.get("/t/agency-a/").status_code == 302


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, two_tenants, settings):
    email = two_tenants.a.owner.email
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, email, "wrong password")
    locked = _log_in(client, email, TEST_PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert client.get("/t/agency-a/").status_code == 302


def test_lockout_of_one_account_leaves_others_alone(client, two_tenants, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, two_tenants.a.owner.email, "wrong password")
    assert _log_in(client, two_tenants.a.auditor.email, TEST_PASSWORD).status_code == 302


def test_logout_ends_the_session(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/t/agency-a/").status_code == 302


def test_password_reset_sends_a_one_time_link_that_sets_a_new_password(client, two_tenants):
    user = two_tenants.b.investigator
    assert client.post("/accounts/password_reset/", {"email": user.email}).status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new_password = "a brand new passphrase 42"
    done = client.post(form_page.request["PATH_INFO"], {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert _log_in(client, user.email, new_password).status_code == 302
    # The link works once.
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_for_unknown_address_reveals_nothing(client, db):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302 and len(mail.outbox) == 0


def test_a_member_changes_their_password_and_other_sessions_end(client, two_tenants):
    from django.test import Client

    user = two_tenants.a.investigator
    elsewhere = Client()
    assert _log_in(elsewhere, user.email, TEST_PASSWORD).status_code == 302
    assert _log_in(client, user.email, TEST_PASSWORD).status_code == 302
    home = client.get("/t/agency-a/").content.decode()
    assert 'href="/accounts/password_change/"' in home
    form = client.get("/accounts/password_change/")
    assert form.status_code == 200 and "Change your password" in form.content.decode()
    wrong = client.post("/accounts/password_change/", {"old_password": "not it", "new_password1": "x",
                                                        "new_password2": "x"})
    assert wrong.status_code == 200 and "incorrectly" in wrong.content.decode()
    new_password = "a fresh passphrase for spring 31"
    done = client.post("/accounts/password_change/", {"old_password": TEST_PASSWORD, "new_password1": new_password,
                                                       "new_password2": new_password}, follow=True)
    assert done.status_code == 200 and "Password changed" in done.content.decode()
    assert client.get("/t/agency-a/").status_code == 200  # this session goes on
    assert elsewhere.get("/t/agency-a/").status_code == 302  # the other one ended
    client.logout()
    assert _log_in(client, user.email, TEST_PASSWORD).status_code == 200
    assert _log_in(client, user.email, new_password).status_code == 302


def test_the_favicon_is_the_portals_own(client, db):
    from django.conf import settings

    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("/favicon.svg")
    assert (settings.BASE_DIR / "static" / "favicon.svg").read_text().startswith("<svg")

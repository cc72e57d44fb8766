"""Two-factor log-in for members: set up with a QR code and ten backup codes, asked at each
log-in; required by an owner's setting, and always for law-enforcement tenants."""

import time

import pytest
from django.test import Client
from django_otp.oath import TOTP

from portal.audit.models import AuditEvent
from portal.platform.models import SealedTOTPDevice
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.two_factor_enforced]


def _log_in(client, email, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def code_for(device, *, steps_ahead: int = 0) -> str:
    """What the authenticator app shows, now or a step or two later (a code is accepted once)."""
    device = SealedTOTPDevice.objects.get(pk=device.pk)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return str(totp.token()).zfill(device.digits)


def enrol(client) -> tuple[SealedTOTPDevice, list[str]]:
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = SealedTOTPDevice.objects.get(user=page.wsgi_request.user, confirmed=False)
    assert client.post("/accounts/two-factor/", {"token": "000000"}).status_code == 400  # a wrong code
    time.sleep(1.1)  # django-otp's throttling: after a wrong code, the device refuses every code for 1 s
    done = client.post("/accounts/two-factor/", {"token": code_for(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(code in done.content.decode() for code in codes)
    return device, codes


def test_a_law_enforcement_member_must_set_it_up_before_any_other_page(client, two_tenants):
    user = two_tenants.a.investigator
    _log_in(client, user.email)
    for path in ("/", "/t/agency-a/", "/t/agency-a/searches/", "/accounts/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/"), path
    assert client.get("/api/v1/subjects").json()["error"]["code"] == "two_factor_setup_required"
    enrol(client)
    assert client.get("/t/agency-a/").status_code == 200
    page = client.get("/accounts/").content.decode()
    assert "10 unused backup codes" in page and "cannot be turned off" in page


def test_log_in_then_asks_for_the_code_or_a_backup_code_each_used_once(client, two_tenants):
    user = two_tenants.a.investigator
    _log_in(client, user.email)
    device, codes = enrol(client)
    client.logout()

    _log_in(client, user.email)
    assert client.get("/t/agency-a/")["Location"].startswith("/accounts/two-factor/verify/")
    assert client.post("/accounts/two-factor/verify/", {"token": "123456"}).status_code == 400
    time.sleep(1.1)  # throttled after a wrong code
    ok = client.post("/accounts/two-factor/verify/", {"token": code_for(device, steps_ahead=1),
                                                      "next": "/t/agency-a/searches/"})
    assert ok.status_code == 302 and ok["Location"] == "/t/agency-a/searches/"
    assert client.get("/t/agency-a/").status_code == 200

    phone_lost = Client()
    _log_in(phone_lost, user.email)
    assert phone_lost.post("/accounts/two-factor/verify/", {"token": codes[0]}).status_code == 302
    assert phone_lost.get("/t/agency-a/").status_code == 200
    again = Client()
    _log_in(again, user.email)
    assert again.post("/accounts/two-factor/verify/", {"token": codes[0]}).status_code == 400  # used up
    assert again.get("/t/agency-a/")["Location"].startswith("/accounts/two-factor/verify/")
    with dangerously_unscoped(reason="test: reading the platform chain"):
        actions = set(AuditEvent.objects.filter(actor_user_id=user.pk).values_list("action", flat=True))
    assert {"auth.2fa_enrol", "auth.2fa_verify", "auth.2fa_backup_code_used", "auth.2fa_failed"} <= actions


def test_an_owner_requires_it_for_a_retail_tenant_an_admin_cannot(client, two_tenants):
    world = two_tenants.b
    form = {"case_reference_required": "on", "probe_retention_days": 30, "two_person_review": "on",
            "two_factor_required": "on"}
    _log_in(client, world.admin.email)
    assert client.get("/t/retailer-b/").status_code == 200  # not required yet
    client.post("/t/retailer-b/admin/settings/", form)  # an admin: the field is not theirs
    assert not Tenant.objects.get(pk=world.tenant.pk).two_factor_required
    owner = Client()
    _log_in(owner, world.owner.email)
    assert owner.post("/t/retailer-b/admin/settings/", form).status_code == 302
    assert Tenant.objects.get(pk=world.tenant.pk).two_factor_required
    # Both are sent to set it up at their next page; the other tenant's members are not.
    assert client.get("/t/retailer-b/")["Location"].startswith("/accounts/two-factor/")
    assert owner.get("/t/retailer-b/")["Location"].startswith("/accounts/two-factor/")
    with tenant_scope(world.tenant):
        assert AuditEvent.objects.filter(action="tenant.settings_update",
                                         details__two_factor_required=[False, True]).exists()


def test_it_can_be_removed_only_where_no_tenant_requires_it(client, two_tenants):
    retail, police = Client(), client
    _log_in(retail, two_tenants.b.investigator.email)
    retail.get("/accounts/two-factor/")
    device, _codes = enrol(retail)
    assert retail.post("/accounts/two-factor/remove/", {"token": "999999"}).status_code == 302
    assert SealedTOTPDevice.objects.filter(pk=device.pk).exists()  # a wrong code changes nothing
    time.sleep(1.1)  # throttled after a wrong code
    retail.post("/accounts/two-factor/remove/", {"token": code_for(device, steps_ahead=1)})
    assert not SealedTOTPDevice.objects.filter(user=two_tenants.b.investigator).exists()

    _log_in(police, two_tenants.a.auditor.email)
    device, _codes = enrol(police)
    police.post("/accounts/two-factor/remove/", {"token": code_for(device, steps_ahead=1)})
    assert SealedTOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()


def test_law_enforcement_cannot_switch_the_requirement_off(client, two_tenants):
    from portal.audit.services import Actor
    from portal.errors import DomainError
    from tenants.services import tenant_settings_update

    tenant = two_tenants.a.tenant
    with tenant_scope(tenant):
        owner = tenant.memberships.get(user=two_tenants.a.owner)
        tenant_settings_update(tenant=tenant, by=owner, case_reference_required=True, probe_retention_days=30,
                               actor=Actor.system("test"), two_factor_required=True)
        with pytest.raises(DomainError):
            tenant_settings_update(tenant=tenant, by=owner, case_reference_required=True, probe_retention_days=30,
                                   actor=Actor.system("test"), two_factor_required=False)
    assert Tenant.objects.get(pk=tenant.pk).two_factor_mandatory

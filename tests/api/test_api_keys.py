"""portal/api/services.py, selectors.py, authentication and the create_api_key command."""

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from portal.api.models import ApiKey
from portal.api.selectors import api_key_get, api_keys_list
from tenants.secrets import secret_hash
from portal.api.services import ApiKeyInvalid, api_key_authenticate, api_key_create, api_key_revoke
from portal.audit.services import Actor
from portal.audit.models import AuditEvent
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Tenant
from tests.api.conftest import keyed_client

pytestmark = pytest.mark.django_db


def _owner_actor(world):
    return Actor.of_user(world.owner)


def test_create_stores_only_a_hash_and_audits(two_tenants):
    tenant = two_tenants.a.tenant
    api_key, raw_key = api_key_create(tenant=tenant, name="records system", scopes=["search", "gallery:read"],
                                      actor=_owner_actor(two_tenants.a))
    assert raw_key.startswith(f"fsk_{api_key.prefix}_") and len(raw_key) > 40
    # Only the hash is kept, in the vault the application cannot read: the database says whose it is.
    from django.db import connection

    assert not hasattr(api_key, "secret_hash")
    with connection.cursor() as cursor:
        cursor.execute("SELECT owner_id FROM portal_secret_verify('api_key', %s, %s)",
                       [api_key.prefix, secret_hash(raw_key)])
        assert cursor.fetchone() == (api_key.pk,)
        cursor.execute("SELECT count(*) FROM portal_secret_verify('api_key', %s, %s)",
                       [api_key.prefix, secret_hash(raw_key + "x")])
        assert cursor.fetchone() == (0,)
    assert api_key.created_by == two_tenants.a.owner and api_key.scopes == ["search", "gallery:read"]
    with tenant_scope(tenant):
        event = AuditEvent.objects.get(action="api_key.create")
    assert event.target_id == str(api_key.public_id) and event.details["prefix"] == api_key.prefix
    assert raw_key not in str(event.details)


@pytest.mark.parametrize("name, scopes, field", [("", ["search"], "name"), ("x", [], "scopes"),
                                                 ("x", ["search", "admin"], "scopes")])
def test_create_refuses_bad_input(two_tenants, name, scopes, field):
    with pytest.raises(ApiKeyInvalid) as raised:
        api_key_create(tenant=two_tenants.a.tenant, name=name, scopes=scopes, actor=Actor.system("test"))
    assert raised.value.field == field


def test_list_and_get_are_per_tenant(two_tenants):
    key_a, _ = api_key_create(tenant=two_tenants.a.tenant, name="a", scopes=["search"], actor=Actor.system("t"))
    key_b, _ = api_key_create(tenant=two_tenants.b.tenant, name="b", scopes=["search"], actor=Actor.system("t"))
    with tenant_scope(two_tenants.a.tenant):
        assert list(api_keys_list(tenant=two_tenants.a.tenant)) == [key_a]
        assert api_key_get(tenant=two_tenants.a.tenant, public_id=key_a.public_id) == key_a
        with pytest.raises(ApiKey.DoesNotExist):
            api_key_get(tenant=two_tenants.a.tenant, public_id=key_b.public_id)


def test_authenticate_finds_the_key_and_records_its_use(two_tenants):
    api_key, raw_key = api_key_create(tenant=two_tenants.a.tenant, name="a", scopes=["search"],
                                      actor=Actor.system("t"))
    found = api_key_authenticate(raw_key=raw_key)
    assert found.pk == api_key.pk and found.tenant == two_tenants.a.tenant
    with tenant_scope(two_tenants.a.tenant):
        assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None
    assert api_key_authenticate(raw_key=raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")) is None
    assert api_key_authenticate(raw_key="fsk_nothing") is None


def test_revoked_key_no_longer_authenticates_and_revoke_is_audited_once(two_tenants):
    tenant = two_tenants.a.tenant
    api_key, raw_key = api_key_create(tenant=tenant, name="a", scopes=["search"], actor=Actor.system("t"))
    api_key_revoke(tenant=tenant, api_key=api_key, actor=_owner_actor(two_tenants.a))
    api_key_revoke(tenant=tenant, api_key=api_key, actor=_owner_actor(two_tenants.a))
    assert api_key_authenticate(raw_key=raw_key) is None
    with tenant_scope(tenant):
        assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1


def test_revoke_of_another_tenants_key_is_not_found(two_tenants):
    key_b, _ = api_key_create(tenant=two_tenants.b.tenant, name="b", scopes=["search"], actor=Actor.system("t"))
    with pytest.raises(ApiKey.DoesNotExist):
        api_key_revoke(tenant=two_tenants.a.tenant, api_key=key_b, actor=Actor.system("t"))


def test_create_api_key_command_prints_the_key_once(two_tenants):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--tenant", "agency-a", "--name", "records", "--scopes", "search",
                 "gallery:read", stdout=out, stderr=err)
    raw_key = out.getvalue().strip()
    api_key = api_key_authenticate(raw_key=raw_key)
    assert api_key.tenant.slug == "agency-a" and api_key.scopes == ["search", "gallery:read"]
    assert "shown once" in err.getvalue() and raw_key not in err.getvalue()


# --- over HTTP -------------------------------------------------------------------------------
def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["fields"], dict)
    return body["error"]


@pytest.mark.parametrize("authorization", [None, "Api-Key", "Bearer abc", "Api-Key fsk_00000000_" + "x" * 43,
                                           "Api-Key nonsense", "Api-Key a b"])
def test_no_or_bad_key_is_401(two_tenants, authorization):
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.get("/api/v1/subjects")
    _error(response, 401, "not_authenticated" if authorization is None else "authentication_failed")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_revoked_key_is_401_at_once(two_tenants):
    keyed = keyed_client(tenant=two_tenants.a.tenant)
    assert keyed.get("/api/v1/subjects").status_code == 200
    api_key_revoke(tenant=two_tenants.a.tenant, api_key=keyed.api_key, actor=Actor.system("t"))
    _error(keyed.get("/api/v1/subjects"), 401, "authentication_failed")


@pytest.mark.parametrize("path, method, scope", [
    ("/api/v1/searches", "get", "search"), ("/api/v1/subjects", "get", "gallery:read"),
    ("/api/v1/subjects", "post", "gallery:write"), ("/api/v1/images", "get", "gallery:read"),
    ("/api/v1/audit", "get", "audit:read"), ("/api/v1/faces/detect", "post", "search"),
])
def test_missing_scope_is_403_naming_it(two_tenants, path, method, scope):
    others = [s for s in ["search", "gallery:read", "gallery:write", "audit:read"] if s != scope]
    keyed = keyed_client(tenant=two_tenants.a.tenant, scopes=others)
    error = _error(getattr(keyed, method)(path, {}, format="json"), 403, "scope_missing")
    assert scope in error["message"]


def test_suspended_tenant_keys_are_refused(two_tenants):
    keyed = keyed_client(tenant=two_tenants.a.tenant)
    with dangerously_unscoped(reason="test: the operator suspends the tenant"):
        Tenant.objects.filter(pk=two_tenants.a.tenant.pk).update(status=Tenant.Status.SUSPENDED)
    _error(keyed.get("/api/v1/subjects"), 403, "tenant_suspended")

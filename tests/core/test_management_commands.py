import pytest
from django.core.management import CommandError, call_command

from tenants.context import tenant_scope
from tenants.models import Membership, Tenant, User

pytestmark = pytest.mark.django_db


def test_create_tenant(capsys):
    call_command("create_tenant", "city-police", "--name", "City Police", "--kind", "law_enforcement", "--country", "de")
    tenant = Tenant.objects.get(slug="city-police")
    assert (tenant.name, tenant.kind, tenant.home_country) == ("City Police", "law_enforcement", "DE")
    assert "Created tenant city-police" in capsys.readouterr().out


def test_create_tenant_refuses_a_duplicate_slug_and_a_bad_country(two_tenants):
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", "agency-a", "--name", "Again", "--kind", "retail", "--country", "GB")
    with pytest.raises(CommandError, match="two-letter"):
        call_command("create_tenant", "new-one", "--name", "New", "--kind", "retail", "--country", "France")


def test_add_member_creates_the_user_and_prints_a_one_time_password(two_tenants, capsys):
    call_command("add_member", "agency-a", "New.Person@Example.test", "--role", "auditor")
    out = capsys.readouterr().out
    password = out.split("One-time password (shown once): ")[1].strip()
    user = User.objects.get(email="new.person@example.test")
    assert user.check_password(password)
    with tenant_scope(two_tenants.a.tenant):
        assert Membership.objects.get(user=user).role == "auditor"


def test_add_member_for_an_existing_user_prints_no_password(two_tenants, capsys):
    call_command("add_member", "retailer-b", two_tenants.a.owner.email, "--role", "investigator")
    assert "One-time password" not in capsys.readouterr().out
    with tenant_scope(two_tenants.b.tenant):
        assert Membership.objects.filter(user=two_tenants.a.owner).exists()


def test_add_member_to_an_unknown_tenant_fails_clearly(db):
    with pytest.raises(CommandError, match="No tenant"):
        call_command("add_member", "nope", "x@example.test", "--role", "owner")


def test_seed_demo_is_idempotent_and_uses_demo_password(settings, capsys):
    settings.DEMO_PASSWORD = "demo password for tests"
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "demo password for tests" in out
    assert Tenant.objects.count() == 2
    members = {}
    for tenant in Tenant.objects.all():
        with tenant_scope(tenant):
            members[tenant.slug] = sorted(Membership.objects.values_list("role", "may_review"))
    # Two reviewers at the police: a lead can be confirmed by two people who did not search.
    assert members == {"metro-police": [("investigator", False), ("investigator", True), ("owner", True)],
                       "northwind-retail": [("investigator", False), ("owner", True)]}
    operator = User.objects.get(email="operator@portal.example")
    assert operator.is_staff and operator.check_password("demo password for tests")


def test_createsuperuser_makes_an_operator_through_the_platforms_claim(monkeypatch):
    """The database refuses staff accounts made outside platform code (tenants/0008); Django's own
    command goes through it."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long operator passphrase 7")
    call_command("createsuperuser", email="root@portal.test", interactive=False, verbosity=0)
    operator = User.objects.get(email="root@portal.test")
    assert operator.is_staff and operator.is_superuser
    assert operator.check_password("a long operator passphrase 7")

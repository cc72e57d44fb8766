import factory
import psycopg
from django.db import connection, connections

from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Membership, Tenant, User

TEST_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Test set-up acts as the platform: staff accounts are made only under its claim.
        with dangerously_unscoped(reason="test accounts"):
            return super()._create(model_class, *args, **kwargs)


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")
    kind = Tenant.Kind.LAW_ENFORCEMENT
    home_country = "GB"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with dangerously_unscoped(reason="test tenants"):
            return super()._create(model_class, *args, **kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    """Memberships are tenant-owned: they are written inside their tenant's scope."""

    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.INVESTIGATOR

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_scope(kwargs["tenant"]):
            return super()._create(model_class, *args, **kwargs)


def totp_token(device) -> str:
    """The code an authenticator app would show now for a django-otp TOTP device."""
    from django_otp.oath import TOTP

    return str(TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()).zfill(device.digits)


def enrolment_code_for(user) -> str:
    """A one-time two-factor enrolment code, as another operator would issue it."""
    from portal.audit.services import Actor
    from portal.platform.two_factor import enrolment_code_issue

    return enrolment_code_issue(user=user, actor=Actor.system("test"))


# The roles' log-ins as configured, before tests/conftest.py lends the platform's to `default`.
_ROLES = {alias: (connections.settings[alias]["USER"], connections.settings[alias]["PASSWORD"])
          for alias in ("default", "platform")}


def app_role_connect(*, autocommit: bool, alias: str = "default", dbname: str | None = None) -> psycopg.Connection:
    """A separate connection as the application's database role (or, with alias "platform",
    the platform's), as an attacker running SQL through the portal would have; to the test
    database, or to `dbname`."""
    params = connection.get_connection_params()
    if dbname is not None:
        params["dbname"] = dbname
    params.pop("cursor_factory", None)
    params.pop("context", None)
    user, password = _ROLES[alias]
    params["user"] = user
    params.pop("password", None)
    if password:
        params["password"] = password
    return psycopg.connect(autocommit=autocommit, **params)

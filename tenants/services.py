import secrets

from django.db import transaction

from tenants.context import tenant_scope
from tenants.models import Membership, Tenant, User


def tenant_create(*, slug: str, name: str, kind: str, home_country: str, **fields) -> Tenant:
    tenant = Tenant(slug=slug, name=name, kind=kind, home_country=home_country.upper(), **fields)
    tenant.full_clean()
    tenant.save()
    return tenant


def password_generate() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def member_add(*, tenant: Tenant, email: str, role: str, password: str | None = None,
               full_name: str = "") -> tuple[Membership, str | None]:
    """Adds the user (creating them when new) to the tenant with the role.

    Returns the membership and, when the user was created without a given password, the one-time
    password made for them (the caller shows it once; it is stored only as a hash)."""
    if role not in Membership.Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(Membership.Role.values)}.")
    email = email.strip().lower()
    one_time_password = None
    user = User.objects.filter(email=email).first()
    if user is None:
        if password is None:
            password = one_time_password = password_generate()
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    with tenant_scope(tenant):
        membership, created = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    return membership, one_time_password


def tenant_member_count(*, tenant: Tenant) -> int:
    with tenant_scope(tenant):
        return Membership.objects.count()


def operator_create(*, email: str, password: str | None = None) -> tuple[User, str | None]:
    """A platform operator: a staff user with no tenant."""
    email = email.strip().lower()
    one_time_password = None
    user = User.objects.filter(email=email).first()
    if user is None:
        if password is None:
            password = one_time_password = password_generate()
        user = User.objects.create_user(email=email, password=password, is_staff=True)
    elif not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return user, one_time_password

"""Writing tenants, members and operators.

The membership writes behind the portal's administration pages (invite, role change, removal,
settings) obey the rules a person clicking in the portal must obey (only an owner makes owners;
the last owner stays) and are audited. `member_add` and `tenant_create` are the plain writes the
management commands and the platform console build on.
"""

import secrets

from django.db import transaction

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
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


class MembershipChangeRefused(DomainError):
    """A membership change the rules forbid (only an owner makes owners; the last owner stays)."""

    code = "membership_refused"
    status = 409


def _owners_locked(*, tenant: Tenant) -> list[Membership]:
    # Locks the owner rows, so two simultaneous demotions cannot both pass the last-owner check.
    return list(Membership.objects.select_for_update().filter(tenant=tenant, role=Membership.Role.OWNER))


def _check_may_touch(*, by: Membership, membership: Membership | None, role: str | None) -> None:
    if by.role == Membership.Role.OWNER:
        return
    if role == Membership.Role.OWNER:
        raise MembershipChangeRefused("Only an owner can make someone an owner.")
    if membership is not None and membership.role == Membership.Role.OWNER:
        raise MembershipChangeRefused("Only an owner can change or remove an owner.")


@transaction.atomic
def member_invite(*, tenant: Tenant, by: Membership, email: str, role: str, actor: Actor) -> tuple[Membership, str | None]:
    """Adds a person by e-mail. Returns the membership and, for a new account, its one-time password."""
    _check_may_touch(by=by, membership=None, role=role)
    if Membership.objects.filter(tenant=tenant, user__email=email.strip().lower()).exists():
        raise MembershipChangeRefused(f"{email} is already a member; change their role in the list instead.")
    membership, one_time_password = member_add(tenant=tenant, email=email, role=role)
    audit_record(action="member.add", actor=actor, tenant=tenant, target_type="membership", target_id=membership.pk,
                 details={"email": membership.user.email, "role": role, "new_account": one_time_password is not None})
    return membership, one_time_password


@transaction.atomic
def member_role_change(*, tenant: Tenant, by: Membership, membership: Membership, role: str, actor: Actor) -> Membership:
    if role not in Membership.Role.values:
        raise MembershipChangeRefused("Unknown role.")
    _check_may_touch(by=by, membership=membership, role=role)
    owners = _owners_locked(tenant=tenant)
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER and len(owners) <= 1:
        raise MembershipChangeRefused("This is the last owner: make someone else an owner first.")
    previous = membership.role
    if previous != role:
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(action="member.role_change", actor=actor, tenant=tenant, target_type="membership",
                     target_id=membership.pk, details={"email": membership.user.email, "from": previous, "to": role})
    return membership


@transaction.atomic
def member_remove(*, tenant: Tenant, by: Membership, membership: Membership, actor: Actor) -> None:
    _check_may_touch(by=by, membership=membership, role=None)
    owners = _owners_locked(tenant=tenant)
    if membership.role == Membership.Role.OWNER and len(owners) <= 1:
        raise MembershipChangeRefused("This is the last owner and cannot be removed.")
    details = {"email": membership.user.email, "role": membership.role}
    membership_id = membership.pk
    membership.delete()
    audit_record(action="member.remove", actor=actor, tenant=tenant, target_type="membership",
                 target_id=membership_id, details=details)


@transaction.atomic
def tenant_settings_update(*, tenant: Tenant, case_reference_required: bool, probe_retention_days: int,
                           actor: Actor) -> Tenant:
    changes = {}
    if tenant.case_reference_required != case_reference_required:
        changes["case_reference_required"] = [tenant.case_reference_required, case_reference_required]
    if tenant.probe_retention_days != probe_retention_days:
        changes["probe_retention_days"] = [tenant.probe_retention_days, probe_retention_days]
    if not changes:
        return tenant
    tenant.case_reference_required = case_reference_required
    tenant.probe_retention_days = probe_retention_days
    tenant.full_clean()
    tenant.save(update_fields=["case_reference_required", "probe_retention_days"])
    audit_record(action="tenant.settings_update", actor=actor, tenant=tenant, target_type="tenant",
                 target_id=tenant.pk, details=changes)
    return tenant

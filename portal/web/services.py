"""Writes behind the tenant administration pages: members, roles and the tenant's settings.

They wrap tenants.services (which adds members) with the rules a person clicking in the portal
must obey (only an owner makes owners; the last owner stays) and with the audit record.
"""

from django.db import transaction

from portal.compliance.audit import Actor, audit_record
from tenants.models import Membership, Tenant
from tenants.services import member_add


class MembershipChangeRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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

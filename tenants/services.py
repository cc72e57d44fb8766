"""Writing tenants, members and operators.

The membership writes behind the portal's administration pages (invitations, role change,
removal, settings) obey the rules a person clicking in the portal must obey (only an owner makes owners;
the last owner stays) and are audited. `member_add` and `tenant_create` are the plain writes the
management commands and the platform console build on.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from tenants.context import dangerously_unscoped, tenant_scope
from tenants.models import Invitation, Membership, Tenant, User


def tenant_create(*, slug: str, name: str, kind: str, home_country: str, **fields) -> Tenant:
    tenant = Tenant(slug=slug, name=name, kind=kind, home_country=home_country.upper(), **fields)
    with dangerously_unscoped(reason="making a tenant (tenants/0009 refuses it otherwise)"):
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
        # A printed password is someone else's knowledge: the member must replace it at first log-in.
        user = User.objects.create_user(email=email, password=password, full_name=full_name,
                                        password_change_required=one_time_password is not None)
    with tenant_scope(tenant):
        membership, created = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": role})
        if not created and membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
    return membership, one_time_password


def operator_create(*, email: str, password: str | None = None) -> tuple[User, str | None]:
    """A platform operator: a staff user with no tenant. Only under the platform's claim may an
    account become staff (tenants/0008)."""
    email = email.strip().lower()
    one_time_password = None
    with dangerously_unscoped(reason="making a platform operator"):
        user = User.objects.filter(email=email).first()
        if user is None:
            if password is None:
                password = one_time_password = password_generate()
            user = User.objects.create_user(email=email, password=password, is_staff=True,
                                            password_change_required=one_time_password is not None)
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
        raise MembershipChangeRefused(_("Only an owner can make someone an owner."))
    if membership is not None and membership.role == Membership.Role.OWNER:
        raise MembershipChangeRefused(_("Only an owner can change or remove an owner."))


INVITATION_DAYS = 7


class InvitationInvalid(DomainError):
    """The invitation link is unknown, used or expired, or is for another address."""

    code = "invitation_invalid"
    status = 404


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def member_invite(*, tenant: Tenant, by: Membership, email: str, role: str, actor: Actor,
                  accept_url: Callable[[str], str]) -> Invitation:
    """Invites a person by e-mail: the same for an address with or without an account, so the
    answer never tells whether one exists, and nobody joins without accepting. `accept_url`
    turns the link's token into an absolute URL. An earlier pending invitation of the same
    address to this tenant is replaced."""
    if role not in Membership.Role.values:
        raise MembershipChangeRefused(_("Unknown role."), field="role")
    _check_may_touch(by=by, membership=None, role=role)
    email = email.strip().lower()
    token = secrets.token_urlsafe(32)
    with tenant_scope(tenant), transaction.atomic():
        if Membership.objects.filter(tenant=tenant, user__email=email).exists():
            raise MembershipChangeRefused(_("%(email)s is already a member; change their role in the list instead.") % {"email": email},
                                          field="email")
        Invitation.objects.filter(tenant=tenant, email=email, accepted_at__isnull=True).delete()
        invitation = Invitation.objects.create(
            tenant=tenant, email=email, role=role, token_hash=_token_hash(token), invited_by_id=actor.user_id,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
        audit_record(action="member.invite", actor=actor, tenant=tenant, target_type="invitation",
                     target_id=invitation.public_id, details={"email": email, "role": role})
        link = accept_url(token)
        values = {"tenant": tenant.name, "inviter": by.user.email, "role": invitation.get_role_display().lower(),
                  "days": INVITATION_DAYS, "link": link}
        subject = _("You are invited to %(tenant)s on the face search portal") % values
        body = _("%(inviter)s invites you to join %(tenant)s as %(role)s.\n\n"
                 "Open this link within %(days)s days to accept (it works once):\n%(link)s\n\n"
                 "If you did not expect this, ignore this e-mail; nothing happens unless you accept.") % values
        transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation


def invitation_revoke(*, tenant: Tenant, invitation: Invitation, actor: Actor) -> None:
    with tenant_scope(tenant), transaction.atomic():
        deleted, _by_model = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).delete()
        if deleted:
            audit_record(action="member.invite_revoke", actor=actor, tenant=tenant, target_type="invitation",
                         target_id=invitation.public_id, details={"email": invitation.email})


def invitation_by_token(*, token: str) -> Invitation:
    """The pending, unexpired invitation of a link, with its tenant; InvitationInvalid otherwise.
    Read before any tenant is in scope: one row by its token's hash, unscoped for that query."""
    with dangerously_unscoped(reason="invitation lookup by its link"):
        invitation = Invitation.objects.select_related("tenant").filter(
            token_hash=_token_hash(token), accepted_at__isnull=True, expires_at__gt=timezone.now()).first()
    if invitation is None or not invitation.tenant.is_active:
        raise InvitationInvalid(_("This invitation is not valid: it was used, revoked or has expired. Ask for a new one."))
    return invitation


def invitation_accept(*, token: str, user: User, actor: Actor) -> Membership:
    """The signed-in user accepts an invitation sent to their own address."""
    invitation = invitation_by_token(token=token)
    if user.email.lower() != invitation.email:
        raise InvitationInvalid(_("This invitation is for another address. Sign out and open the link again."))
    tenant = invitation.tenant
    with tenant_scope(tenant), transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise InvitationInvalid(_("This invitation was used already."))
        membership, _created = Membership.objects.get_or_create(tenant=tenant, user=user, defaults={"role": invitation.role})
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(action="member.join", actor=actor, tenant=tenant, target_type="membership",
                     target_id=membership.public_id, details={"email": user.email, "role": membership.role})
    return membership


def invitation_accept_new_account(*, token: str, full_name: str, password: str, ip_address: str | None) -> Membership:
    """A person without an account accepts: the account is made with the password they chose."""
    invitation = invitation_by_token(token=token)
    if User.objects.filter(email=invitation.email).exists():
        raise InvitationInvalid(_("An account with this address exists: sign in to accept."))
    with transaction.atomic():
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name.strip()[:150])
        return invitation_accept(token=token, user=user, actor=Actor.of_user(user, ip_address=ip_address))


@transaction.atomic
def member_role_change(*, tenant: Tenant, by: Membership, membership: Membership, role: str, actor: Actor) -> Membership:
    if role not in Membership.Role.values:
        raise MembershipChangeRefused(_("Unknown role."))
    _check_may_touch(by=by, membership=membership, role=role)
    owners = _owners_locked(tenant=tenant)
    if membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER and len(owners) <= 1:
        raise MembershipChangeRefused(_("This is the last owner: make someone else an owner first."))
    previous = membership.role
    if previous != role:
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(action="member.role_change", actor=actor, tenant=tenant, target_type="membership",
                     target_id=membership.public_id, details={"email": membership.user.email, "from": previous, "to": role})
    return membership


@transaction.atomic
def member_remove(*, tenant: Tenant, by: Membership, membership: Membership, actor: Actor) -> None:
    _check_may_touch(by=by, membership=membership, role=None)
    owners = _owners_locked(tenant=tenant)
    if membership.role == Membership.Role.OWNER and len(owners) <= 1:
        raise MembershipChangeRefused(_("This is the last owner and cannot be removed."))
    details = {"email": membership.user.email, "role": membership.role}
    membership_id = membership.public_id
    membership.delete()
    audit_record(action="member.remove", actor=actor, tenant=tenant, target_type="membership",
                 target_id=membership_id, details=details)


@transaction.atomic
def member_review_set(*, tenant: Tenant, by: Membership, membership: Membership, may_review: bool,
                      actor: Actor) -> Membership:
    """Gives or takes a member's permission to review matches. Only an owner decides who verifies
    leads (EU AI Act Art. 14(5): people with the necessary competence and authority)."""
    if by.role != Membership.Role.OWNER:
        raise MembershipChangeRefused(_("Only an owner decides who may review matches."), status=403)
    if may_review and membership.role == Membership.Role.AUDITOR:
        raise MembershipChangeRefused(_("Auditors check the reviews; they cannot review matches themselves."))
    if membership.may_review != may_review:
        membership.may_review = may_review
        membership.save(update_fields=["may_review"])
        audit_record(action="member.review_permission", actor=actor, tenant=tenant, target_type="membership",
                     target_id=membership.public_id, details={"email": membership.user.email, "may_review": may_review})
    return membership


@transaction.atomic
def tenant_settings_update(*, tenant: Tenant, case_reference_required: bool, probe_retention_days: int,
                           actor: Actor, two_person_review: bool | None = None,
                           two_factor_required: bool | None = None, by: Membership | None = None) -> Tenant:
    changes = {}
    if two_factor_required is not None and two_factor_required != tenant.two_factor_required:
        if two_factor_required is False and tenant.kind == Tenant.Kind.LAW_ENFORCEMENT:
            raise MembershipChangeRefused(_("Law-enforcement tenants always require two-factor log-in."),
                                          code="two_factor_required")
        if by is None or by.role != Membership.Role.OWNER:
            raise MembershipChangeRefused(_("Only an owner decides whether every member needs two-factor log-in."),
                                          status=403, field="two_factor_required")
        changes["two_factor_required"] = [tenant.two_factor_required, two_factor_required]
        tenant.two_factor_required = two_factor_required
    if two_person_review is False and tenant.kind == Tenant.Kind.LAW_ENFORCEMENT:
        raise MembershipChangeRefused(_("Law-enforcement tenants always need two people to confirm a match."),
                                      code="two_person_review_required")
    if two_person_review is not None and tenant.two_person_review != two_person_review:
        changes["two_person_review"] = [tenant.two_person_review, two_person_review]
        tenant.two_person_review = two_person_review
    if tenant.case_reference_required != case_reference_required:
        changes["case_reference_required"] = [tenant.case_reference_required, case_reference_required]
    if tenant.probe_retention_days != probe_retention_days:
        changes["probe_retention_days"] = [tenant.probe_retention_days, probe_retention_days]
    if not changes:
        return tenant
    tenant.case_reference_required = case_reference_required
    tenant.probe_retention_days = probe_retention_days
    tenant.full_clean()
    tenant.save(update_fields=["case_reference_required", "probe_retention_days", "two_person_review",
                               "two_factor_required"])
    audit_record(action="tenant.settings_update", actor=actor, tenant=tenant, target_type="tenant",
                 target_id=tenant.slug, details=changes)
    return tenant

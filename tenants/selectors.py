from django.http import Http404

from django.utils import timezone

from tenants.models import Invitation, Membership, Tenant, User


def user_memberships(*, user: User):
    return Membership.of_user.for_user(user).order_by("tenant__name")


def membership_for_tenant_slug(*, user: User, tenant_slug: str) -> Membership:
    """The user's membership in the tenant named by the URL; a 404 whether the tenant does not
    exist, is suspended or is someone else's, so that a URL never confirms a tenant exists."""
    try:
        return user_memberships(user=user).get(tenant__slug=tenant_slug)
    except Membership.DoesNotExist:
        raise Http404("No such tenant.") from None


def tenant_members(*, tenant: Tenant):
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def membership_get(*, tenant: Tenant, public_id) -> Membership:
    return Membership.objects.select_related("user").get(tenant=tenant, public_id=public_id)


def invitations_pending(*, tenant: Tenant):
    return Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True,
                                     expires_at__gt=timezone.now()).order_by("email")


def invitation_get(*, tenant: Tenant, public_id) -> Invitation:
    return Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True).get(public_id=public_id)

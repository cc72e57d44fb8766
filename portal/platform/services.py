"""What the operator does from the console besides orders: tenants (create, suspend, entitlements)
and platform API tokens. Every change is audited."""

from __future__ import annotations

import secrets

from django.utils import timezone

from tenants.secrets import STAFF_TOKEN, secret_store
from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.platform.models import PlatformScope, StaffApiToken
from tenants.context import dangerously_unscoped, scope_atomic
from tenants.models import Tenant
from tenants.services import tenant_create
from django.utils.translation import gettext as _


class PlatformActionInvalid(DomainError):
    """A tenant change or token request that cannot be done as given (names the field)."""


def platform_tenant_create(*, actor: Actor, slug: str, name: str, kind: str, home_country: str,
                           may_search_platform_index: bool = False, case_reference_required: bool = True,
                           probe_retention_days: int = 30) -> Tenant:
    with dangerously_unscoped(reason="making a tenant and recording it"):
        tenant = tenant_create(slug=slug, name=name, kind=kind, home_country=home_country,
                               may_search_platform_index=may_search_platform_index,
                               case_reference_required=case_reference_required,
                               probe_retention_days=probe_retention_days)
        audit_record(action="tenant.create", actor=actor, tenant=tenant, target_type="tenant", target_id=tenant.pk,
                     details={"slug": slug, "kind": kind, "home_country": tenant.home_country})
    return tenant


def platform_tenant_update(*, actor: Actor, tenant: Tenant, status: str | None = None,
                           may_search_platform_index: bool | None = None, case_reference_required: bool | None = None,
                           probe_retention_days: int | None = None) -> Tenant:
    """Suspends or reactivates a tenant and sets its entitlements."""
    changes = {}
    for name, value in (("status", status), ("may_search_platform_index", may_search_platform_index),
                        ("case_reference_required", case_reference_required),
                        ("probe_retention_days", probe_retention_days)):
        if value is not None and getattr(tenant, name) != value:
            changes[name] = {"from": getattr(tenant, name), "to": value}
            setattr(tenant, name, value)
    if status is not None and status not in Tenant.Status.values:
        raise PlatformActionInvalid(_("Unknown status."), field="status")
    if probe_retention_days is not None and not 1 <= probe_retention_days <= 3650:
        raise PlatformActionInvalid(_("Retention is between 1 and 3650 days."), field="probe_retention_days")
    if not changes:
        return tenant
    with dangerously_unscoped(reason="platform tenant administration"):
        tenant.save(update_fields=list(changes))
        action = "tenant.suspend" if changes.get("status", {}).get("to") == Tenant.Status.SUSPENDED else (
            "tenant.reactivate" if "status" in changes else "tenant.entitlements")
        audit_record(action=action, actor=actor, tenant=tenant, target_type="tenant", target_id=tenant.slug,
                     details=changes)
    return tenant


@dangerously_unscoped(reason="platform code: staff_token_create")
def staff_token_create(*, user, name: str, actor: Actor,
                       scopes: list[str] | None = None) -> tuple[StaffApiToken, str]:
    """A platform API token for a staff user, with the scopes given (all by default); returns
    (token, secret) and the secret is shown once."""
    if not user.is_staff:
        raise PlatformActionInvalid(_("Only platform operators get platform API tokens."), field="user")
    scopes = list(dict.fromkeys(scopes if scopes is not None else PlatformScope.values))
    unknown = [scope for scope in scopes if scope not in PlatformScope.values]
    if not scopes or unknown:
        raise PlatformActionInvalid(_("Choose scopes among %(scopes)s.") % {"scopes": ', '.join(PlatformScope.values)}, field="scopes")
    prefix = secrets.token_hex(4)
    secret = f"pst_{prefix}_{secrets.token_urlsafe(24)}"
    with scope_atomic():
        token = StaffApiToken.objects.create(user=user, name=name[:100], prefix=prefix, scopes=scopes)
        with dangerously_unscoped(reason="storing a platform token's hash"):
            secret_store(kind=STAFF_TOKEN, owner_id=token.pk, owner_tenant_id=None, prefix=prefix,
                         raw_secret=secret)
        audit_record(action="platform_token.create", actor=actor, target_type="platform_token", target_id=token.pk,
                     details={"name": token.name, "prefix": prefix, "user_id": user.pk, "scopes": scopes})
    return token, secret


@dangerously_unscoped(reason="platform code: staff_token_revoke")
def staff_token_revoke(*, token: StaffApiToken, actor: Actor) -> None:
    with scope_atomic():
        StaffApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit_record(action="platform_token.revoke", actor=actor, target_type="platform_token", target_id=token.pk)

"""What the operator's console reads besides orders: tenants and platform-wide statistics."""

from __future__ import annotations


from portal.compliance.models import OptOut, RegulatoryOrder
from tenants.context import dangerously_unscoped, scope_connection
from tenants.models import Tenant


def tenants_list():
    return Tenant.objects.order_by("name")


def tenant_get(*, tenant_id: int) -> Tenant:
    return Tenant.objects.get(pk=tenant_id)


def faces_by_region(*, limit: int = 12) -> list[tuple[str, int]]:
    """Searchable faces per country (subdivisions folded into their country), most first."""
    with dangerously_unscoped(reason="platform statistics"), scope_connection().cursor() as cursor:
        cursor.execute("SELECT coalesce(nullif(split_part(region, '-', 1), ''), 'unknown'), count(*)"
                       " FROM gallery_face WHERE NOT withheld GROUP BY 1 ORDER BY 2 DESC, 1")
        rows = cursor.fetchall()
    if len(rows) > limit:
        rows = rows[:limit - 1] + [("other", sum(n for _, n in rows[limit - 1:]))]
    return rows


def platform_counts() -> dict:
    with dangerously_unscoped(reason="platform statistics"), scope_connection().cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE withheld) FROM gallery_face")
        faces, withheld = cursor.fetchone()
    return {
        "tenants": Tenant.objects.count(),
        "tenants_suspended": Tenant.objects.filter(status=Tenant.Status.SUSPENDED).count(),
        "faces": faces, "faces_withheld": withheld,
        "orders_in_force": RegulatoryOrder.objects.exclude(status=RegulatoryOrder.Status.DRAFT).count(),
        "opt_outs_waiting": OptOut.objects.filter(status=OptOut.Status.RECEIVED).count(),
    }


def operators_list() -> list[dict]:
    """Staff users with whether each has set up two-factor log-in."""
    from portal.platform.models import SealedTOTPDevice
    from tenants.models import User

    enrolled = set(SealedTOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    return [{"user": user, "enrolled": user.pk in enrolled}
            for user in User.objects.filter(is_staff=True).order_by("email")]


def operator_get(*, user_id: int):
    """A staff user by id; LookupError (a 404) for anyone else."""
    from tenants.models import User

    user = User.objects.filter(pk=user_id, is_staff=True).first()
    if user is None:
        raise LookupError(user_id)
    return user

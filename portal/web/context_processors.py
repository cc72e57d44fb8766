"""What every tenant page's navigation shows beyond the tenancy: the count of open recall notices,
and of forwarded requests awaiting a decision (for those who decide them)."""

from portal.rights.selectors import inbox_pending_count
from portal.search.recalls import recall_notices_open_count


def notices(request):
    tenant, membership = getattr(request, "tenant", None), getattr(request, "membership", None)
    if tenant is None or membership is None:
        return {}
    counts = {"notices_open": recall_notices_open_count(tenant=tenant)}
    if membership.can_manage:
        counts["requests_pending"] = inbox_pending_count(tenant=tenant)
    return counts

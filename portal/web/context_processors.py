"""What every tenant page's navigation shows beyond the tenancy: the count of open recall notices."""

from portal.search.recalls import recall_notices_open_count


def notices(request):
    tenant, membership = getattr(request, "tenant", None), getattr(request, "membership", None)
    if tenant is None or membership is None:
        return {}
    return {"notices_open": recall_notices_open_count(tenant=tenant)}

"""Who looked: every view of a search's results, of a crop of one of its matches, or of an
evidence pack, by page or API. Recording costs one INSERT; the search page's owners and auditors
read the latest views back."""

from __future__ import annotations

from portal.audit.services import Actor
from portal.search.models import Search, SearchAccess
from tenants.models import Tenant

SHOWN = 100


def search_access_record(*, tenant: Tenant, search: Search, what: str, via: str, actor: Actor) -> None:
    SearchAccess.objects.create(tenant=tenant, search=search, what=what, via=via, actor_user_id=actor.user_id,
                                actor_api_key_id=actor.api_key_id, actor_label=actor.label[:200])


def search_access_list(*, tenant: Tenant, search: Search, limit: int = SHOWN) -> list[SearchAccess]:
    """The latest views of the search, newest first."""
    return list(SearchAccess.objects.filter(tenant=tenant, search=search).order_by("-created_at", "-id")[:limit])

"""Who looked: every view of a search's results, of a crop of one of its matches, or of an
evidence pack, by page or API. Recording costs one INSERT; the search page's owners and auditors
read the latest views back."""

from __future__ import annotations

from django.db.models import Count, Max
from django.db.models.functions import TruncMinute

from portal.audit.services import Actor
from portal.search.models import Disclosure, Search, SearchAccess
from tenants.models import Tenant

SHOWN = 100


def search_access_record(*, tenant: Tenant, search: Search, what: str, via: str, actor: Actor) -> None:
    SearchAccess.objects.create(tenant=tenant, search=search, what=what, via=via, actor_user_id=actor.user_id,
                                actor_api_key_id=actor.api_key_id, actor_label=actor.label[:200])


def search_disclosures(*, tenant: Tenant, search: Search) -> list[Disclosure]:
    """The evidence packs exported from this search, newest first."""
    return list(Disclosure.objects.filter(tenant=tenant, search=search).order_by("-created_at", "-id"))


def search_access_list(*, tenant: Tenant, search: Search, limit: int = SHOWN) -> list[dict]:
    """The latest views of the search, newest first, one line per person, kind of view and minute
    (a page's crops load together): actor_label, what, via, views, last."""
    return list(SearchAccess.objects.filter(tenant=tenant, search=search)
                .annotate(minute=TruncMinute("created_at"))
                .values("actor_label", "what", "via", "minute")
                .annotate(views=Count("id"), last=Max("created_at"))
                .order_by("-last")[:limit])

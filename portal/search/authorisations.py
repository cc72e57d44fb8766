"""Authorisation of a law-enforcement tenant's searches (EU AI Act Art. 26(10)).

Post-remote biometric identification by law enforcement needs an authorisation, judicial or
administrative, requested in advance or within 48 hours. So a law-enforcement tenant's search
carries one of two things:

- the authority, reference and date of an authorisation granted in advance (the date may not be
  in the future); or
- `urgent`, and then the decision must be recorded within 48 hours (`authorisation_record`).

If the decision is a refusal, or the 48 hours pass with none recorded, use stops: the search's
matches, probe picture and embedding are deleted at once (or by the beat task
`search.authorisations_overdue_erase`). What stays is the record that the search happened, with
its case reference, purpose and authorisation status, and the audit events.

Other tenants' searches need no authorisation. One given anyway is recorded as granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.search import signals
from portal.search.models import Authorisation, Search, SearchMatch
from tenants.context import dangerously_unscoped, scope_on_commit, tenant_scope
from tenants.models import Tenant
from django.utils.translation import gettext as _

URGENT_HOURS = 48


class AuthorisationInvalid(DomainError):
    """An authorisation that cannot be accepted as given (names the field)."""

    code = "authorisation_invalid"


class AuthorisationConflict(DomainError):
    """The search's authorisation cannot change any more (recorded already, or overdue)."""

    code = "authorisation_conflict"
    status = 409


@dataclass(frozen=True)
class AuthorisationGiven:
    """What a person or an API caller states when running a search."""

    authority: str = ""
    reference: str = ""
    date: date | None = None
    urgent: bool = False

    @property
    def stated(self) -> bool:
        return bool(self.authority or self.reference or self.date)


def _details_check(*, authority: str, reference: str, on: date | None, not_before: date | None, today: date) -> None:
    if not authority:
        raise AuthorisationInvalid(_("Name the authority that decided (a court or an administrative authority)."),
                                   field="authorisation_authority")
    if len(authority) > 200:
        raise AuthorisationInvalid(_("The authority is longer than 200 characters."), field="authorisation_authority")
    if not reference:
        raise AuthorisationInvalid(_("Give the authorisation's reference."), field="authorisation_reference")
    if len(reference) > 100:
        raise AuthorisationInvalid(_("The authorisation's reference is longer than 100 characters."),
                                   field="authorisation_reference")
    if on is None:
        raise AuthorisationInvalid(_("Give the date of the decision."), field="authorisation_date")
    if on > today:
        raise AuthorisationInvalid(_("The decision's date, %(on)s, is in the future.") % {"on": on}, field="authorisation_date")
    if not_before is not None and on < not_before:
        raise AuthorisationInvalid(_("The decision's date, %(on)s, is before the search (%(not_before)s).") % {"on": on, "not_before": not_before},
                                   field="authorisation_date")


def authorisation_fields(*, tenant: Tenant, given: AuthorisationGiven | None,
                         now: datetime | None = None) -> dict:
    """The Search fields for a new search's authorisation; raises AuthorisationInvalid when a
    law-enforcement tenant's search has neither an authorisation nor the urgent mark."""
    now = now or timezone.now()
    given = given or AuthorisationGiven()
    authority, reference = given.authority.strip(), given.reference.strip()
    law_enforcement = tenant.kind == Tenant.Kind.LAW_ENFORCEMENT
    if given.urgent and given.stated:
        raise AuthorisationInvalid(_("A search is either urgent (authorisation to follow within 48 hours) or "
                                   "authorised in advance, not both."), field="urgent")
    if given.urgent:
        if not law_enforcement:
            raise AuthorisationInvalid(_("Only law-enforcement searches are marked urgent."), field="urgent")
        return {"authorisation": Authorisation.PENDING, "urgent": True,
                "authorisation_due_at": now + timedelta(hours=URGENT_HOURS)}
    if not given.stated:
        if law_enforcement:
            raise AuthorisationInvalid(
                _("%(name)s is a law-enforcement tenant: give the authority, reference and date of the authorisation granted for this search, or mark it urgent and record the authorisation within %(hours)s hours (EU AI Act Art. 26(10)).") % {"name": tenant.name, "hours": URGENT_HOURS}, field="authorisation_reference")
        return {"authorisation": Authorisation.NOT_REQUIRED}
    _details_check(authority=authority, reference=reference, on=given.date, not_before=None,
                   today=timezone.localdate(now))
    return {"authorisation": Authorisation.GRANTED, "authorisation_authority": authority,
            "authorisation_reference": reference, "authorisation_date": given.date, "authorisation_recorded_at": now}


def authorisation_record(*, tenant: Tenant, search: Search, granted: bool, authority: str, reference: str,
                         on: date | None, actor: Actor, now: datetime | None = None) -> Search:
    """Records the decision on an urgent search. A refusal deletes its results at once."""
    now = now or timezone.now()
    authority, reference = authority.strip(), reference.strip()
    with tenant_scope(tenant):
        search = Search.objects.select_for_update().get(pk=search.pk)
        if search.authorisation != Authorisation.PENDING:
            raise AuthorisationConflict(
                _("This search's authorisation is %(status)s; only an urgent search awaiting one can have it recorded.") % {"status": search.get_authorisation_display().lower()})
        if search.authorisation_due_at <= now:
            # Its results are withheld already (Search.results_withheld) and the beat task deletes them.
            raise AuthorisationConflict(_("The %(hours)s hours have passed without an authorisation: the search's results are withheld and being deleted.") % {"hours": URGENT_HOURS})
        _details_check(authority=authority, reference=reference, on=on,
                       not_before=timezone.localdate(search.created_at), today=timezone.localdate(now))
        search.authorisation = Authorisation.GRANTED if granted else Authorisation.REFUSED
        search.authorisation_authority, search.authorisation_reference = authority, reference
        search.authorisation_date, search.authorisation_recorded_at = on, now
        search.save(update_fields=["authorisation", "authorisation_authority", "authorisation_reference",
                                   "authorisation_date", "authorisation_recorded_at"])
        audit_record(action="search.authorisation_granted" if granted else "search.authorisation_refused",
                     actor=actor, tenant=tenant, target_type="search", target_id=search.public_id,
                     details={"authority": authority, "reference": reference, "date": on.isoformat()})
        if not granted:
            search_results_erase(search=search, reason="authorisation refused", now=now)
            search.refresh_from_db()
    return search


def search_results_erase(*, search: Search, reason: str, now: datetime | None = None) -> dict[str, int]:
    """Deletes a search's matches, probe picture and embedding, in the caller's tenant scope and
    transaction, keeping the search's record. Returns what went, as audited."""
    now = now or timezone.now()
    matches, _by_model = SearchMatch.objects.filter(search=search).delete()
    probe_name = search.probe.name
    if probe_name:
        scope_on_commit(lambda: search.probe.storage.delete(probe_name))
    Search.objects.filter(pk=search.pk).update(probe="", probe_embedding=None, probe_face_box=None,
                                               results_erased_at=now)
    copies = signals.search_results_erased.send(sender=Search, search_public_ids=[str(search.public_id)])
    erased = {"matches": matches, "probe": int(bool(probe_name)),
              "stored_responses": sum(count for _, count in copies)}
    audit_record(action="search.results_erase", actor=Actor.system(reason), tenant=search.tenant,
                 target_type="search", target_id=search.public_id, details={"reason": reason, **erased})
    return erased


def _overdue_erase(*, search: Search, now: datetime) -> None:
    Search.objects.filter(pk=search.pk).update(authorisation=Authorisation.OVERDUE)
    search_results_erase(search=search, reason=f"no authorisation within {URGENT_HOURS} hours", now=now)


def authorisations_overdue_erase(*, now: datetime | None = None) -> int:
    """Deletes the results of every urgent search whose 48 hours passed with no authorisation
    recorded. Runs every 15 minutes (CELERY_BEAT_SCHEDULE). Returns how many searches."""
    now = now or timezone.now()
    overdue = {"authorisation": Authorisation.PENDING, "authorisation_due_at__lte": now}
    with dangerously_unscoped(reason="finding urgent searches past their 48 hours in every tenant"):
        tenant_ids = set(Search.objects.filter(**overdue).values_list("tenant_id", flat=True))
        tenants = list(Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"))
    erased = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            for search in Search.objects.filter(tenant=tenant, **overdue).select_for_update(skip_locked=True):
                _overdue_erase(search=search, now=now)
                erased += 1
    return erased


def searches_with_a_lead():
    """An annotation: whether the search has a match at or above its threshold."""
    return Exists(SearchMatch.objects.filter(search=OuterRef("pk")).exclude(band="below"))


def authorisation_overview(*, tenant: Tenant, limit: int = 200) -> dict[str, list[Search]]:
    """For the tenant's compliance page: urgent searches awaiting their authorisation (soonest due
    first) and searches whose results were deleted for want of one (latest first)."""
    with tenant_scope(tenant):
        searches = Search.objects.filter(tenant=tenant).only(
            "public_id", "case_reference", "purpose", "actor_label", "created_at", "authorisation", "urgent",
            "authorisation_due_at", "authorisation_reference", "results_erased_at", "tenant_id")
        return {
            "pending": list(searches.filter(authorisation=Authorisation.PENDING).order_by("authorisation_due_at")[:limit]),
            "unauthorised": list(searches.filter(authorisation__in=[Authorisation.REFUSED, Authorisation.OVERDUE])
                                 .order_by("-created_at")[:limit]),
        }

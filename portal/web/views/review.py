"""A search's result page with its review: each match's verdicts and state, the review form for
reviewers, evidence-pack export for confirmed matches, and who looked (owners and auditors)."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.errors import DomainError
from portal.search import selectors as search_selectors
from portal.search.models import FaceDisclosure
from portal.search.recalls import face_disclosures_record
from portal.search.access import search_access_list, search_access_record, search_disclosures
from portal.search.evidence import evidence_pack_export
from portal.search.models import Authorisation, Band, Search, SearchAccess, SearchMatch, Verdict
from portal.search.reviews import match_get, match_review_add, search_review_states
from portal.web.crops import probe_available
from portal.web.forms import AuthorisationRecordForm
from portal.web.views.common import actor_of
from tenants.middleware import membership_required


def _search_or_404(request, search_id) -> Search:
    try:
        return search_selectors.search_get(tenant=request.tenant, public_id=search_id)
    except Search.DoesNotExist:
        raise Http404 from None


def _match_or_404(request, search, match_id) -> SearchMatch:
    try:
        return match_get(tenant=request.tenant, search=search, public_id=match_id)
    except SearchMatch.DoesNotExist:
        raise Http404 from None


def may_record_authorisations(request) -> bool:
    """Who records the decision on an urgent search (portal/search/authorisations.py)."""
    return request.membership is not None and (request.membership.can_search or request.membership.can_manage)


def search_detail_render(request, search: Search, *, status: int = 200, error: str = "", error_match=None,
                         posted: dict | None = None):
    """The result page. Every view of it is recorded (who looked); an error of a review or export
    is shown on its match, with the status it carries."""
    tenant = request.tenant
    search_access_record(tenant=tenant, search=search, what=SearchAccess.What.RESULTS, via=SearchAccess.Via.PAGE,
                         actor=actor_of(request))
    matches = list(search_selectors.search_matches(search=search))
    face_disclosures_record(tenant=tenant, search=search, via=FaceDisclosure.Via.PAGE,
                            faces=[(m.face.uuid, m.face.image.public_id) for m in matches])
    states = search_review_states(tenant=tenant, search=search, matches=matches)
    for match in matches:
        match.review = states[match.pk]
        match.error = error if error_match is not None and match.pk == error_match.pk else ""
    membership = request.membership
    return render(request, "portal/search_detail.html", {
        "search": search,
        "authorisation_form": AuthorisationRecordForm() if (
            search.authorisation == Authorisation.PENDING and not search.results_withheld
            and may_record_authorisations(request)) else None,
        "probe_available": probe_available(search=search),
        # Ranks keep their place when a match is deleted later (an erasure, an order): name the gaps.
        "missing_ranks": sorted(set(range(1, max((m.rank for m in matches), default=0) + 1))
                                - {m.rank for m in matches}),
        "leads": [m for m in matches if m.band != Band.BELOW],
        "below": [m for m in matches if m.band == Band.BELOW],
        "error": error if error_match is None else "",
        "error_match": error_match,
        "posted": posted or {},
        "verdicts": Verdict.choices,
        "required": tenant.confirmations_required,
        "accesses": search_access_list(tenant=tenant, search=search) if membership and membership.can_audit else None,
        "disclosures": search_disclosures(tenant=tenant, search=search) if membership and membership.can_audit else None,
    }, status=status)


@never_cache
@membership_required(allowed="can_review")
@require_POST
def match_review(request, tenant_slug, search_id, match_id):
    search = _search_or_404(request, search_id)
    match = _match_or_404(request, search, match_id)
    try:
        match_review_add(tenant=request.tenant, search=search, match=match, reviewer=request.membership,
                         verdict=request.POST.get("verdict", ""), reason=request.POST.get("reason", ""),
                         actor=actor_of(request))
    except DomainError as error:
        return search_detail_render(request, search, status=error.status, error=error.message, error_match=match,
                                    posted=request.POST)
    url = reverse("search_detail", kwargs={"tenant_slug": request.tenant.slug, "search_id": search.public_id})
    return redirect(f"{url}#match-{match.public_id}")


@never_cache
@require_POST
def match_evidence(request, tenant_slug, search_id, match_id):
    # Every member who may see the results may export a confirmed match; each export is a disclosure.
    search = _search_or_404(request, search_id)
    match = _match_or_404(request, search, match_id)
    try:
        pack = evidence_pack_export(tenant=request.tenant, search=search, match=match,
                                    format=request.POST.get("format", ""), via=SearchAccess.Via.PAGE,
                                    actor=actor_of(request))
    except DomainError as error:
        return search_detail_render(request, search, status=error.status, error=error.message, error_match=match)
    response = HttpResponse(pack.content, content_type=pack.content_type)
    response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response

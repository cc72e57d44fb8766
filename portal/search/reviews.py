"""Human review of matches (EU AI Act Art. 14(5)): reviewers' verdicts, and when a match counts
as confirmed.

The rule (docs/compliance.md, "Human review of matches"):

- Each reviewer's latest verdict on a match is their standing verdict; older ones stay on
  record but no longer count.
- Any standing `rejected` verdict makes the match rejected, else any standing `inconclusive`
  makes it inconclusive: either blocks confirmation until that reviewer gives a new verdict.
- Otherwise the match is confirmed when the tenant's required number of people (two; one only
  for a tenant that switched two-person review off, never law enforcement) stand by a
  `confirmed` verdict and at least one of them is not the person who ran the search.
- Refused when given: a confirmation by someone whose standing verdict is already a
  confirmation (the same person twice), and a confirmation by the person who ran the search
  once someone else stands by one (the searcher may be the first confirmer, never the second).
- A reason is required for `confirmed` and `rejected`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from portal.errors import DomainError
from portal.search.models import MatchReview, Search, SearchMatch, Verdict
from tenants.context import scope_connection
from tenants.models import Membership, Tenant

REASON_MAX = 2000


class ReviewInvalid(DomainError):
    """A verdict that cannot be accepted as given (names the field)."""


class ReviewRefused(DomainError):
    """A verdict the review rule refuses: the same confirmation twice, the searcher second."""

    code = "review_refused"
    status = 409


class NotAReviewer(DomainError):
    code = "not_a_reviewer"
    status = 403


@dataclass(frozen=True)
class ReviewState:
    state: str  # "unconfirmed", "confirmed", "rejected" or "inconclusive"
    required: int
    confirmers: tuple[str, ...] = ()
    verdicts: list[MatchReview] = field(default_factory=list)

    @property
    def confirmed(self) -> bool:
        return self.state == "confirmed"

    @property
    def confirmations(self) -> int:
        return len(self.confirmers)


def _standing(verdicts: list[MatchReview]) -> dict[int, MatchReview]:
    """Each reviewer's latest verdict (verdicts come oldest first)."""
    return {verdict.reviewer_id: verdict for verdict in verdicts}


def review_state(*, verdicts: list[MatchReview], required: int, searcher_user_id: int | None) -> ReviewState:
    standing = _standing(verdicts).values()
    kinds = {verdict.verdict for verdict in standing}
    confirmers = [verdict for verdict in standing if verdict.verdict == Verdict.CONFIRMED]
    labels = tuple(verdict.reviewer_label for verdict in confirmers)
    if Verdict.REJECTED in kinds:
        state = "rejected"
    elif Verdict.INCONCLUSIVE in kinds:
        state = "inconclusive"
    elif len(confirmers) >= required and any(v.reviewer_id != searcher_user_id for v in confirmers):
        state = "confirmed"
    else:
        state = "unconfirmed"
    return ReviewState(state=state, required=required, confirmers=labels, verdicts=list(verdicts))


def searcher_user_id(*, search: Search) -> int | None:
    """The person who ran the search: the signed-in user, or the person who made the API key that
    ran it (read in the tenant's scope; None for a key made by a command)."""
    if search.actor_user_id is not None or search.actor_api_key_id is None:
        return search.actor_user_id
    with scope_connection().cursor() as cursor:
        cursor.execute("SELECT created_by_id FROM api_apikey WHERE id = %s AND tenant_id = %s",
                       [search.actor_api_key_id, search.tenant_id])
        row = cursor.fetchone()
    return row[0] if row else None


def search_review_states(*, tenant: Tenant, search: Search, matches: list[SearchMatch]) -> dict[int, ReviewState]:
    """The review state of every match of a search, keyed by match id: one query for all verdicts
    (two for a search run by an API key that has some)."""
    by_match: dict[int, list[MatchReview]] = {m.pk: [] for m in matches}
    for verdict in MatchReview.objects.filter(tenant=tenant, search=search).order_by("created_at", "id"):
        by_match.setdefault(verdict.match_id, []).append(verdict)
    searcher = searcher_user_id(search=search) if any(by_match.values()) else search.actor_user_id
    required = tenant.confirmations_required
    return {match_id: review_state(verdicts=verdicts, required=required, searcher_user_id=searcher)
            for match_id, verdicts in by_match.items()}


def match_get(*, tenant: Tenant, search: Search, public_id) -> SearchMatch:
    """A match of the search; SearchMatch.DoesNotExist for another search's, another tenant's, or
    one whose face was deleted (its matches went with it), and for a search whose results are
    withheld (an unauthorised urgent search, portal/search/authorisations.py)."""
    if search.results_withheld:
        raise SearchMatch.DoesNotExist
    return (SearchMatch.objects.filter(tenant=tenant, search=search)
            .select_related("face", "face__image", "face__subject").get(public_id=public_id))


def match_review_state(*, tenant: Tenant, search: Search, match: SearchMatch) -> ReviewState:
    verdicts = list(MatchReview.objects.filter(tenant=tenant, match=match).order_by("created_at", "id"))
    return review_state(verdicts=verdicts, required=tenant.confirmations_required,
                        searcher_user_id=searcher_user_id(search=search) if verdicts else search.actor_user_id)


def _input_check(*, verdict: str, reason: str) -> None:
    if verdict not in Verdict.values:
        raise ReviewInvalid(_("The verdict is one of: confirmed, rejected, inconclusive."), field="verdict")
    if verdict in (Verdict.CONFIRMED, Verdict.REJECTED) and not reason:
        raise ReviewInvalid(_("Give the reason for this verdict: what you compared and what you found."),
                            field="reason")
    if len(reason) > REASON_MAX:
        raise ReviewInvalid(_("The reason is longer than %(max)d characters.") % {"max": REASON_MAX}, field="reason")


@transaction.atomic
def match_review_add(*, tenant: Tenant, search: Search, match: SearchMatch, reviewer: Membership, verdict: str,
                     reason: str, actor: Actor) -> MatchReview:
    """Adds a reviewer's verdict to a match and audits it (`match.review`). Call it in the
    tenant's scope; the match comes from `match_get`."""
    reason = reason.strip()
    if reviewer.tenant_id != tenant.pk or not reviewer.can_review:
        raise NotAReviewer(_("You may not review matches: a tenant owner gives members that permission."))
    _input_check(verdict=verdict, reason=reason)
    # One verdict at a time per match, so the rule below sees every earlier one.
    match = SearchMatch.objects.select_for_update().select_related("face").get(pk=match.pk, tenant=tenant)
    if match.face.withheld:
        raise ReviewRefused(_("This face is withheld by a regulatory order: it can no longer be reviewed."),
                            code="face_withheld")
    verdicts = list(MatchReview.objects.filter(tenant=tenant, match=match).order_by("created_at", "id"))
    standing = _standing(verdicts)
    user_id = reviewer.user_id
    searcher = searcher_user_id(search=search)
    if verdict == Verdict.CONFIRMED:
        mine = standing.get(user_id)
        if mine is not None and mine.verdict == Verdict.CONFIRMED:
            raise ReviewRefused(_("You have already confirmed this match: a second confirmation must come from "
                                  "someone else."), code="already_confirmed")
        others = [v for v in standing.values() if v.verdict == Verdict.CONFIRMED and v.reviewer_id != user_id]
        if others and user_id == searcher:
            raise ReviewRefused(_("You ran this search, so you cannot be the second person to confirm it."),
                                code="searcher_second")
    user = reviewer.user
    label = f"{user.full_name} <{user.email}>" if user.full_name else user.email
    review = MatchReview(tenant=tenant, search=search, match=match, reviewer_id=user_id, reviewer_label=label[:200],
                         verdict=verdict, reason=reason)
    after = review_state(verdicts=[*verdicts, review], required=tenant.confirmations_required,
                         searcher_user_id=searcher)
    position = audit_record(
        action="match.review", actor=actor, tenant=tenant, target_type="search_match", target_id=match.public_id,
        details={"search": search.public_id, "rank": match.rank, "verdict": verdict, "reviewer": user.email,
                 "reason_sha256": hashlib.sha256(reason.encode()).hexdigest(), "state": after.state})
    review.audit_position = position.position
    review.save()
    return review

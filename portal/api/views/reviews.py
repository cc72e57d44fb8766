"""Reviews of a search's matches and their evidence packs over the API (#12).

A verdict is a person's: a key with the `review` scope gives verdicts as the member who made it,
who must hold the review permission. A key made by a command (no person) cannot review."""

from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.api.serializers_oversight import (ReviewCreateSerializer, ReviewResultSerializer,
                                              ReviewStateSerializer, VerdictSerializer)
from portal.search.evidence import evidence_pack_export
from portal.search.models import Disclosure, SearchAccess
from portal.search.reviews import NotAReviewer, match_get, match_review_add, match_review_state
from portal.search.selectors import search_get
from tenants.models import Membership
from django.utils.translation import gettext as _


class _MatchView(TenantApiView):
    def match_of(self, search_id: UUID, match_id: UUID):
        search = search_get(tenant=self.tenant, public_id=search_id)
        return search, match_get(tenant=self.tenant, search=search, public_id=match_id)


class MatchReviewsView(_MatchView):
    required_scopes = {"GET": ApiKeyScope.SEARCH, "POST": ApiKeyScope.REVIEW}
    error_statuses = {"POST": (403, 409)}

    @extend_schema(tags=["reviews"], summary="A match's review: its state and every verdict, oldest first",
                   responses=ReviewStateSerializer)
    def get(self, request, search_id: UUID, match_id: UUID):
        search, match = self.match_of(search_id, match_id)
        return Response(ReviewStateSerializer(match_review_state(tenant=self.tenant, search=search, match=match)).data)

    @extend_schema(
        tags=["reviews"], summary="Give a verdict on a match",
        description="Adds the verdict of the member who made this key (they need the review permission). Verdicts are "
                    "never edited: a new one replaces the reviewer's earlier one. A match is confirmed when two "
                    "different people stand by a confirmation (one where the tenant allows it), at least one of "
                    "them not the person who ran the search; any standing rejected or inconclusive verdict blocks "
                    "it. 409 for the same confirmation twice (`already_confirmed`), for the searcher as second "
                    "confirmer (`searcher_second`) and for a withheld face (`face_withheld`); 403 "
                    "(`not_a_reviewer`) for a key whose maker may not review.",
        request=ReviewCreateSerializer, responses={201: ReviewResultSerializer},
    )
    def post(self, request, search_id: UUID, match_id: UUID):
        search, match = self.match_of(search_id, match_id)  # first: another tenant's ids are a 404, whatever the body
        data = self.body_validated(ReviewCreateSerializer)
        reviewer = (Membership.objects.filter(tenant=self.tenant, user_id=self.api_key.created_by_id)
                    .select_related("user").first() if self.api_key.created_by_id else None)
        if reviewer is None:
            raise NotAReviewer(_("This key was not made by a member: verdicts are given by people."))
        verdict = match_review_add(tenant=self.tenant, search=search, match=match, reviewer=reviewer,
                                   verdict=data["verdict"], reason=data["reason"], actor=self.actor())
        state = match_review_state(tenant=self.tenant, search=search, match=match)
        return Response({"verdict": VerdictSerializer(verdict).data, "match_review": ReviewStateSerializer(state).data},
                        status=201)


class _EvidenceQuery(serializers.Serializer):
    format = serializers.ChoiceField(choices=Disclosure.Format.choices, default=Disclosure.Format.PDF)


class MatchEvidenceView(_MatchView):
    required_scopes = {"GET": ApiKeyScope.SEARCH}
    error_statuses = {"GET": (409,)}

    @extend_schema(
        tags=["reviews"], summary="The evidence pack of a confirmed match (PDF or JSON)",
        description="Refused with 409 (`unconfirmed_lead`) until the match is confirmed. Each download is recorded "
                    "as a disclosure (who, when, which faces) and audited (`evidence.export`).",
        parameters=[OpenApiParameter("format", str, enum=["pdf", "json"], default="pdf")],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
                   (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="The JSON twin.")},
    )
    def get(self, request, search_id: UUID, match_id: UUID):
        search, match = self.match_of(search_id, match_id)
        query = self.query_validated(_EvidenceQuery)
        pack = evidence_pack_export(tenant=self.tenant, search=search, match=match, format=query["format"],
                                    via=SearchAccess.Via.API, actor=self.actor())
        response = HttpResponse(pack.content, content_type=pack.content_type)
        response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
        response["Cache-Control"] = "private, no-store"
        return response

import base64
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser

from portal.api.parsers import BoundedJSONParser
from rest_framework.response import Response

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.api.serializers import (DetectionSerializer, FacesDetectJsonSerializer, FacesDetectMultipartSerializer,
                                    SearchCreateJsonSerializer, SearchCreateMultipartSerializer,
                                    SearchDetailSerializer, SearchFilterSerializer, SearchSerializer)
from portal.api.serializers_oversight import AuthorisationRecordSerializer
from portal.search.models import FaceDisclosure
from portal.search.recalls import face_disclosures_record
from portal.search.access import search_access_record
from portal.search.authorisations import AuthorisationGiven, authorisation_record
from portal.search.models import SearchAccess
from portal.search.reviews import review_state, search_review_states
from portal.search.selectors import search_get, search_matches, searches_list
from portal.search.services import search_detect_faces, search_run


def search_detail_data(*, search, request, tenant, fresh: bool = False) -> dict:
    """A search with its matches and their review states: one query for the matches, one for all
    their verdicts (none for a search just run: it has none)."""
    matches = list(search_matches(search=search))
    face_disclosures_record(tenant=tenant, search=search, via=FaceDisclosure.Via.API,
                            faces=[(m.face.uuid, m.face.image.public_id) for m in matches])
    if fresh:
        states = {m.pk: review_state(verdicts=[], required=tenant.confirmations_required,
                                     searcher_user_id=search.actor_user_id) for m in matches}
    else:
        states = search_review_states(tenant=tenant, search=search, matches=matches)
    return SearchDetailSerializer(search, context={"request": request, "matches": matches, "review_states": states,
                                                   "search": search}).data


class SearchListView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.SEARCH, "POST": ApiKeyScope.SEARCH}
    parser_classes = (BoundedJSONParser, MultiPartParser)
    error_statuses = {"POST": (400, 413, 415, 422)}

    @extend_schema(tags=["searches"], summary="The tenant's searches, newest first",
                   parameters=[SearchFilterSerializer], responses=SearchSerializer(many=True))
    def get(self, request):
        filters = self.query_validated(SearchFilterSerializer)
        return self.page(searches_list(tenant=self.tenant, **filters), SearchSerializer)

    @extend_schema(
        tags=["searches"], summary="Run a 1:N search",
        description="Searches the largest face of the picture (or `face_index`) in the tenant's gallery and, when "
                    "entitled, the platform index. Stores the search and its matches; audited with its case "
                    "reference. Send the picture as a multipart file or as base64 in JSON.",
        request={"multipart/form-data": SearchCreateMultipartSerializer,
                 "application/json": SearchCreateJsonSerializer},
        responses={201: SearchDetailSerializer},
    )
    def post(self, request):
        data = self.body_validated(multipart=SearchCreateMultipartSerializer, json=SearchCreateJsonSerializer)
        search = search_run(tenant=self.tenant, actor=self.actor(), probe=data["picture"],
                            case_reference=data["case_reference"], purpose=data["purpose"], k=data["k"],
                            threshold=data["threshold"], face_index=data["face_index"],
                            authorisation=AuthorisationGiven(
                                authority=data["authorisation_authority"], reference=data["authorisation_reference"],
                                date=data["authorisation_date"], urgent=data["urgent"]))
        search_access_record(tenant=self.tenant, search=search, what=SearchAccess.What.RESULTS,
                             via=SearchAccess.Via.API, actor=self.actor())
        return Response(search_detail_data(search=search, request=request, tenant=self.tenant, fresh=True), status=201)


class SearchAuthorisationView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.SEARCH}  # every method; POST is the only one it answers
    parser_classes = (BoundedJSONParser,)
    error_statuses = {"POST": (400, 404, 409)}

    @extend_schema(
        tags=["searches"], summary="Record the authorisation decision on an urgent search",
        description="Law-enforcement tenants (EU AI Act Art. 26(10)): an urgent search's authorisation must be "
                    "recorded within 48 hours. A refusal, or no decision in time, deletes the search's matches, "
                    "probe and embedding; the record that it ran stays. 409 when the search is not awaiting one.",
        request=AuthorisationRecordSerializer, responses={200: SearchSerializer},
    )
    def post(self, request, search_id: UUID):
        search = search_get(tenant=self.tenant, public_id=search_id)
        data = self.body_validated(AuthorisationRecordSerializer)
        search = authorisation_record(tenant=self.tenant, search=search, granted=data["decision"] == "granted",
                                      authority=data["authority"], reference=data["reference"], on=data["date"],
                                      actor=self.actor())
        return Response(SearchSerializer(search, context={"request": request}).data)


class SearchDetailView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.SEARCH}

    @extend_schema(tags=["searches"], summary="A search with its matches, best first",
                   responses=SearchDetailSerializer)
    def get(self, request, search_id: UUID):
        search = search_get(tenant=self.tenant, public_id=search_id)
        search_access_record(tenant=self.tenant, search=search, what=SearchAccess.What.RESULTS,
                             via=SearchAccess.Via.API, actor=self.actor())
        return Response(search_detail_data(search=search, request=request, tenant=self.tenant))


class FacesDetectView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.SEARCH, "POST": ApiKeyScope.SEARCH}
    parser_classes = (BoundedJSONParser, MultiPartParser)

    @extend_schema(
        tags=["faces"], summary="The faces in a picture, to choose which one to search",
        description="Nothing is stored. Faces are numbered largest first; pass the number as `face_index`.",
        request={"multipart/form-data": FacesDetectMultipartSerializer,
                 "application/json": FacesDetectJsonSerializer},
        responses={200: DetectionSerializer},
    )
    def post(self, request):
        data = self.body_validated(multipart=FacesDetectMultipartSerializer, json=FacesDetectJsonSerializer)
        detection = search_detect_faces(data=data["picture"])
        return Response({
            "width": detection.image.width, "height": detection.image.height,
            "faces": [
                {"index": index, "box": dict(zip(("x", "y", "width", "height"), face.box)),
                 "confidence": face.confidence, "detector": face.detector, "crop_base64": base64.b64encode(face.crop).decode()}
                for index, face in enumerate(detection.faces)
            ],
        })

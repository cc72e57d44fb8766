from uuid import UUID

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser

from portal.api.parsers import BoundedJSONParser
from rest_framework.response import Response

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.search.access import search_access_record
from portal.search.models import SearchAccess
from portal.search.selectors import face_crop_get, search_get
from portal.api.serializers import (EnrolJsonSerializer, EnrolMultipartSerializer, ImageCreateJsonSerializer,
                                    ImageCreateMultipartSerializer, ImageFilterSerializer, ImageSerializer,
                                    IngestResultSerializer, SubjectCreateSerializer, SubjectSerializer,
                                    SubjectUpdateSerializer)
from portal.gallery.selectors import image_get, images_list, subject_get, subjects_list
from portal.gallery.services import (image_delete, image_ingest, subject_create, subject_delete, subject_enrol,
                                     subject_update)
from django.utils.translation import gettext as _

_READ, _WRITE = ApiKeyScope.GALLERY_READ, ApiKeyScope.GALLERY_WRITE
_INGEST_ERRORS = {"POST": (451,)}
_INGEST_DESCRIPTION = (
    "Detects and embeds every face of the picture and stores them with the provenance given. Refused with 422 "
    "when no face is found and with 451 when a regulatory order or opt-out covers the picture. The same picture "
    "twice in the gallery is stored once: the second answer is 200 with created=false; if it declares provenance "
    "the picture did not have (another region or source), evidence_recorded=true, and withheld_by names the order "
    "or opt-out that now covers it (it is withheld at once and deleted)."
)


def _subject_with_count(*, tenant, public_id):
    return subjects_list(tenant=tenant).get(public_id=public_id)


def _ingest_response(*, tenant, result, request) -> Response:
    image = image_get(tenant=tenant, public_id=result.image.public_id)
    body = {"created": result.created, "evidence_recorded": result.evidence_recorded,
            "withheld_by": result.withheld_by or None,
            "image": ImageSerializer(image, context={"request": request}).data}
    return Response(body, status=201 if result.created else 200)


class SubjectListView(TenantApiView):
    required_scopes = {"GET": _READ, "POST": _WRITE}

    @extend_schema(tags=["subjects"], summary="The tenant's subjects (watch list, booking records)",
                   responses=SubjectSerializer(many=True))
    def get(self, request):
        return self.page(subjects_list(tenant=self.tenant), SubjectSerializer)

    @extend_schema(tags=["subjects"], summary="Create a subject", request=SubjectCreateSerializer,
                   responses={201: SubjectSerializer})
    def post(self, request):
        data = self.body_validated(SubjectCreateSerializer)
        subject = subject_create(tenant=self.tenant, actor=self.actor(), **data)
        subject = _subject_with_count(tenant=self.tenant, public_id=subject.public_id)
        return Response(SubjectSerializer(subject).data, status=201)


class SubjectDetailView(TenantApiView):
    required_scopes = {"GET": _READ, "PATCH": _WRITE, "DELETE": _WRITE}

    @extend_schema(tags=["subjects"], summary="A subject", responses=SubjectSerializer)
    def get(self, request, subject_id: UUID):
        subject = _subject_with_count(tenant=self.tenant, public_id=subject_id)
        return Response(SubjectSerializer(subject).data)

    @extend_schema(tags=["subjects"], summary="Change a subject's label, notes or reference",
                   request=SubjectUpdateSerializer, responses=SubjectSerializer)
    def patch(self, request, subject_id: UUID):
        subject = subject_get(tenant=self.tenant, public_id=subject_id)
        data = self.body_validated(SubjectUpdateSerializer)
        subject_update(tenant=self.tenant, subject=subject, actor=self.actor(), **data)
        return Response(SubjectSerializer(_subject_with_count(tenant=self.tenant, public_id=subject.public_id)).data)

    @extend_schema(tags=["subjects"], summary="Delete a subject and the pictures enrolled for it",
                   responses={204: None})
    def delete(self, request, subject_id: UUID):
        subject = subject_get(tenant=self.tenant, public_id=subject_id)
        subject_delete(tenant=self.tenant, subject=subject, actor=self.actor())
        return Response(status=204)


class SubjectPicturesView(TenantApiView):
    required_scopes = {"GET": _WRITE, "POST": _WRITE}
    parser_classes = (BoundedJSONParser, MultiPartParser)
    error_statuses = _INGEST_ERRORS

    @extend_schema(tags=["subjects"], summary="Enrol a picture of the subject", description=_INGEST_DESCRIPTION,
                   request={"multipart/form-data": EnrolMultipartSerializer, "application/json": EnrolJsonSerializer},
                   responses={201: IngestResultSerializer, 200: IngestResultSerializer})
    def post(self, request, subject_id: UUID):
        subject = subject_get(tenant=self.tenant, public_id=subject_id)
        data = self.body_validated(multipart=EnrolMultipartSerializer, json=EnrolJsonSerializer)
        result = subject_enrol(tenant=self.tenant, subject=subject, data=data.pop("picture"), actor=self.actor(),
                               **data)
        return _ingest_response(tenant=self.tenant, result=result, request=request)


class ImageListView(TenantApiView):
    required_scopes = {"GET": _READ, "POST": _WRITE}
    parser_classes = (BoundedJSONParser, MultiPartParser)
    error_statuses = _INGEST_ERRORS

    @extend_schema(tags=["images"], summary="The tenant's gallery pictures, newest first",
                   parameters=[ImageFilterSerializer], responses=ImageSerializer(many=True))
    def get(self, request):
        filters = self.query_validated(ImageFilterSerializer)
        subject = filters.pop("subject_id", None)
        images = images_list(tenant=self.tenant, **filters)
        if subject is not None:
            images = images.filter(subject__public_id=subject)
        return self.page(images.select_related("subject").prefetch_related("faces__subject"), ImageSerializer)

    @extend_schema(tags=["images"], summary="Add a picture with its provenance to the tenant's gallery",
                   description=_INGEST_DESCRIPTION,
                   request={"multipart/form-data": ImageCreateMultipartSerializer,
                            "application/json": ImageCreateJsonSerializer},
                   responses={201: IngestResultSerializer, 200: IngestResultSerializer})
    def post(self, request):
        data = self.body_validated(multipart=ImageCreateMultipartSerializer, json=ImageCreateJsonSerializer)
        subject_id = data.pop("subject_id")
        subject = None
        if subject_id is not None:
            try:
                subject = subject_get(tenant=self.tenant, public_id=subject_id)
            except ObjectDoesNotExist:
                raise ValidationError({"subject_id": [_("No subject with this id.")]}) from None
        result = image_ingest(tenant=self.tenant, data=data.pop("picture"), actor=self.actor(), subject=subject,
                              **data)
        return _ingest_response(tenant=self.tenant, result=result, request=request)


class ImageDetailView(TenantApiView):
    required_scopes = {"GET": _READ, "DELETE": _WRITE}

    @extend_schema(tags=["images"], summary="A picture with its provenance and faces", responses=ImageSerializer)
    def get(self, request, image_id: UUID):
        image = image_get(tenant=self.tenant, public_id=image_id)
        return Response(ImageSerializer(image, context={"request": request}).data)

    @extend_schema(tags=["images"], summary="Delete a picture: its file, face crops, faces and search matches",
                   responses={204: None})
    def delete(self, request, image_id: UUID):
        image = image_get(tenant=self.tenant, public_id=image_id)
        image_delete(tenant=self.tenant, image=image, actor=self.actor())
        return Response(status=204)


class CropQuerySerializer(serializers.Serializer):
    search = serializers.UUIDField(required=False, help_text="The search that returned the face (as in its crop_url): "
                                                             "the view is recorded as one of that search's.")


class FaceCropView(TenantApiView):
    """Crops are served only here, to a key of the tenant that may see the face: never as public media."""

    required_scopes = {"GET": (ApiKeyScope.SEARCH, _READ)}

    @extend_schema(tags=["faces"], summary="A face crop (JPEG)",
                   description="A face of the tenant's gallery, or a platform-index face that one of the tenant's "
                               "searches returned. Needs the search or gallery:read scope.",
                   parameters=[CropQuerySerializer],
                   responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY, description="The crop.")})
    def get(self, request, face_uuid):
        face = face_crop_get(tenant=self.tenant, face_uuid=face_uuid)
        if "search" in request.query_params:
            # A crop a search returned (its crop_url says which): recorded as a view of that search.
            query = self.query_validated(CropQuerySerializer)
            search = search_get(tenant=self.tenant, public_id=query["search"])
            search_access_record(tenant=self.tenant, search=search, what=SearchAccess.What.CROP,
                                 via=SearchAccess.Via.API, actor=self.actor())
        try:
            with face.crop.open("rb") as crop:
                data = crop.read()
        except (FileNotFoundError, ValueError):
            raise NotFound() from None
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response

"""Request and response shapes of the API. Parsing and rendering only: no business rules here
(the services check provenance, regions, search parameters and compliance gates)."""

from __future__ import annotations

import base64
import binascii
import re

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.api.models import ApiKey
from portal.gallery.models import LegalBasis
from portal.gallery.regions import RegionEvidence
from portal.api.serializers_oversight import ReviewStateSerializer, SearchAuthorisationSerializer
from portal.search.models import Band, Search
from django.utils.translation import gettext_lazy as _

_DATA_URL = re.compile(r"^data:[\w/+.-]+;base64,", re.IGNORECASE)


# --- errors -------------------------------------------------------------------------------
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. not_found, scope_missing, no_face_found.")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Field name -> problems with it; empty when no field is at fault.")
    reference = serializers.CharField(required=False, help_text="451 only: the regulatory order or opt-out reference.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- pictures in requests -------------------------------------------------------------------
@extend_schema_field({"type": "string", "format": "byte",
                      "description": "The picture (JPEG, PNG or WebP), base64-encoded; a data: URL prefix is allowed."})
class Base64PictureField(serializers.Field):
    default_error_messages = {"invalid": _("Not valid base64."), "empty": _("The picture is empty.")}

    def to_internal_value(self, data) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            picture = base64.b64decode(_DATA_URL.sub("", data.strip()), validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")
        if not picture:
            self.fail("empty")
        return picture

    def to_representation(self, value) -> str:
        return base64.b64encode(value).decode()


class _MultipartPicture(serializers.Serializer):
    picture = serializers.FileField(help_text="The picture: JPEG, PNG or WebP, at most 20 MB.")

    def validate_picture(self, value) -> bytes:
        return value.read()


class _JsonPicture(serializers.Serializer):
    picture_base64 = Base64PictureField()

    def validate(self, attrs):
        attrs["picture"] = attrs.pop("picture_base64")
        return attrs


# --- searches -------------------------------------------------------------------------------
class _SearchParameters(serializers.Serializer):
    case_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                           help_text="Required by tenants that require case references.")
    purpose = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                    help_text="Why the search is run; required where case references are.")
    k = serializers.IntegerField(min_value=1, max_value=settings.SEARCH_MAX_K, required=False, allow_null=True,
                                 default=None,
                                 help_text=f"How many matches to return at most; {settings.SEARCH_DEFAULT_K} when "
                                           f"absent, or the tenant's limit if lower. More than the limit is a 400.")
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, required=False, allow_null=True, default=None,
                                       help_text="Similarity from which a match is a lead; the platform's "
                                                 "calibrated default when absent, raised to the floor for the "
                                                 "tenant's kind. Below the floor is a 400 naming it.")
    face_index = serializers.IntegerField(min_value=0, max_value=1000, required=False, allow_null=True, default=None,
                                          help_text="Which face of the picture to search, as numbered by "
                                                    "POST /faces/detect (0 = largest); the largest when absent.")
    authorisation_authority = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="Law-enforcement tenants (EU AI Act Art. 26(10)): the court or authority that authorised this "
                  "search in advance. With authorisation_reference and authorisation_date, or send urgent.")
    authorisation_reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    authorisation_date = serializers.DateField(required=False, allow_null=True, default=None,
                                               help_text="The decision's date; not in the future.")
    urgent = serializers.BooleanField(
        required=False, default=False,
        help_text="Run now, before the authorisation, which must then be recorded within 48 hours "
                  "(POST /searches/{id}/authorisation) or the results, probe and embedding are deleted.")


class SearchCreateMultipartSerializer(_MultipartPicture, _SearchParameters):
    pass


class SearchCreateJsonSerializer(_JsonPicture, _SearchParameters):
    pass


class BoxSerializer(serializers.Serializer):
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


def _box(values) -> dict | None:
    if not values:
        return None
    x, y, width, height = values
    return {"x": x, "y": y, "width": width, "height": height}


def face_crop_url(*, request, face_uuid) -> str:
    return request.build_absolute_uri(reverse("api:face-crop", kwargs={"face_uuid": face_uuid}))


class ProvenanceSerializer(serializers.Serializer):
    source_url = serializers.CharField(allow_blank=True)
    source_domain = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_null=True, help_text="ISO 3166 code, e.g. FR or US-IL; null when unknown.")
    region_evidence = serializers.ChoiceField(choices=RegionEvidence.choices)
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices)
    collected_at = serializers.DateTimeField(allow_null=True)


class SubjectRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    label = serializers.CharField()
    reference = serializers.CharField(allow_blank=True)


class MatchSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The match's id: its reviews and evidence pack hang on it.")
    unconfirmed_lead = serializers.BooleanField(help_text="True until the review confirms the match: an "
                                                "unconfirmed lead, never to be acted on or exported.")
    review = ReviewStateSerializer()
    rank = serializers.IntegerField(help_text="1 = most similar.")
    similarity = serializers.FloatField(help_text="1 - cosine distance of the embeddings.")
    band = serializers.ChoiceField(choices=Band.choices,
                                   help_text="How strong a lead this is. A match is a lead for a person to "
                                             "check, never an identification.")
    face_uuid = serializers.UUIDField()
    face_box = BoxSerializer()
    crop_url = serializers.URLField(help_text="GET it with the same API key: image/jpeg. Its `search` parameter "
                                              "records the view as one of this search's.")
    subject = SubjectRefSerializer(allow_null=True)
    image_id = serializers.UUIDField(allow_null=True, help_text="The tenant's own image; null for the platform index.")
    in_platform_index = serializers.BooleanField()
    provenance = ProvenanceSerializer()

    def to_representation(self, match):
        face, image = match.face, match.face.image
        review = self.context["review_states"][match.pk]
        return {
            "id": str(match.public_id), "unconfirmed_lead": not review.confirmed,
            "review": ReviewStateSerializer(review).data,
            "rank": match.rank, "similarity": match.similarity, "band": match.band, "face_uuid": str(face.uuid),
            "face_box": _box(face.box),
            # The search in the crop's URL records the view as one of this search's (who looked).
            "crop_url": f"{face_crop_url(request=self.context['request'], face_uuid=face.uuid)}"
                        f"?search={self.context['search'].public_id}",
            "subject": ({"id": str(face.subject.public_id), "label": face.subject.label,
                         "reference": face.subject.reference} if face.subject_id and face.tenant_id else None),
            "image_id": str(image.public_id) if image.tenant_id else None,
            "in_platform_index": image.tenant_id is None,
            "provenance": {
                "source_url": image.source_url, "source_domain": image.source_domain, "region": image.region,
                "region_evidence": image.region_evidence, "legal_basis": image.legal_basis,
                "collected_at": serializers.DateTimeField().to_representation(image.collected_at)
                if image.collected_at else None,
            },
        }


class SearchSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    authorisation = SearchAuthorisationSerializer(source="*", read_only=True)
    actor = serializers.CharField(source="actor_label")
    probe_face_box = serializers.SerializerMethodField()
    timings_ms = serializers.DictField(child=serializers.FloatField())

    class Meta:
        model = Search
        fields = ["id", "status", "case_reference", "purpose", "k", "threshold", "include_platform_index",
                  "probe_faces_found", "probe_face_box", "probe_expires_at", "actor", "timings_ms", "created_at",
                  "authorisation", "results_erased_at"]

    @extend_schema_field(BoxSerializer(allow_null=True))
    def get_probe_face_box(self, search) -> dict | None:
        return _box(search.probe_face_box)


class SearchDetailSerializer(SearchSerializer):
    matches = serializers.SerializerMethodField()

    class Meta(SearchSerializer.Meta):
        fields = [*SearchSerializer.Meta.fields, "matches"]

    @extend_schema_field(MatchSerializer(many=True))
    def get_matches(self, search) -> list[dict]:
        return MatchSerializer(self.context["matches"], many=True, context=self.context).data


class SearchFilterSerializer(serializers.Serializer):
    case_reference = serializers.CharField(required=False, max_length=100,
                                           help_text="Searches whose case reference contains this.")
    created_from = serializers.DateTimeField(required=False, help_text="Created at or after (ISO 8601).")
    created_to = serializers.DateTimeField(required=False, help_text="Created before (ISO 8601).")


# --- faces ------------------------------------------------------------------------------------
DETECTOR_HELP = ("Which detector found the face: hog (dlib's HOG detector), or cnn (dlib's CNN detector, "
                 "which runs only when HOG finds no face in the picture).")


class DetectedFaceSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Pass as face_index to POST /searches.")
    box = BoxSerializer()
    confidence = serializers.FloatField()
    detector = serializers.ChoiceField(choices=["hog", "cnn"], help_text=DETECTOR_HELP)
    crop_base64 = serializers.CharField(help_text="The face as a base64 JPEG (not stored).")


class DetectionSerializer(serializers.Serializer):
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    faces = DetectedFaceSerializer(many=True, help_text="Largest first.")


class FacesDetectMultipartSerializer(_MultipartPicture):
    pass


class FacesDetectJsonSerializer(_JsonPicture):
    pass


# --- gallery ----------------------------------------------------------------------------------
class FaceSerializer(serializers.Serializer):
    uuid = serializers.UUIDField()
    box = BoxSerializer()
    confidence = serializers.FloatField()
    detector = serializers.ChoiceField(choices=["hog", "cnn"], help_text=DETECTOR_HELP)
    subject_id = serializers.UUIDField(allow_null=True)
    crop_url = serializers.URLField()
    withheld = serializers.BooleanField()

    def to_representation(self, face):
        return {"uuid": str(face.uuid), "box": _box(face.box), "confidence": face.confidence, "detector": face.detector,
                "subject_id": str(face.subject.public_id) if face.subject_id else None, "withheld": face.withheld,
                "crop_url": face_crop_url(request=self.context["request"], face_uuid=face.uuid)}


class ImageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    sha256 = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    format = serializers.CharField()
    subject = SubjectRefSerializer(allow_null=True)
    provenance = ProvenanceSerializer()
    withheld = serializers.BooleanField(help_text="Covered by a regulatory order: no longer searchable.")
    created_at = serializers.DateTimeField()
    faces = FaceSerializer(many=True)

    def to_representation(self, image):
        subject = image.subject
        return {
            "id": str(image.public_id), "sha256": image.sha256, "width": image.width, "height": image.height,
            "format": image.format,
            "subject": ({"id": str(subject.public_id), "label": subject.label, "reference": subject.reference}
                        if subject else None),
            "provenance": ProvenanceSerializer(image).data,
            "withheld": image.withheld,
            "created_at": serializers.DateTimeField().to_representation(image.created_at),
            "faces": FaceSerializer(image.faces.all(), many=True, context=self.context).data,
        }


class _Provenance(serializers.Serializer):
    legal_basis = serializers.ChoiceField(choices=LegalBasis.choices,
                                          help_text="Why the tenant may hold this picture.")
    source_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="",
                                      help_text="Where the picture came from, if from the web.")
    region = serializers.CharField(max_length=6, required=False, allow_blank=True, allow_null=True, default=None,
                                   help_text="ISO 3166 code of where the person was pictured (FR, US-IL); "
                                             "inferred from GPS, the source domain or the tenant's country "
                                             "when absent.")
    collected_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_region(self, value):
        return value or None


class _ImageTarget(serializers.Serializer):
    subject_id = serializers.UUIDField(required=False, allow_null=True, default=None,
                                       help_text="Enrol the picture for this subject (its id).")


class ImageCreateMultipartSerializer(_MultipartPicture, _Provenance, _ImageTarget):
    pass


class ImageCreateJsonSerializer(_JsonPicture, _Provenance, _ImageTarget):
    pass


class EnrolMultipartSerializer(_MultipartPicture, _Provenance):
    pass


class EnrolJsonSerializer(_JsonPicture, _Provenance):
    pass


class IngestResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False when the gallery already held this exact picture.")
    evidence_recorded = serializers.BooleanField(
        help_text="True when a picture already held came with provenance it did not have (another region or "
                  "source): recorded on it, and the orders in force applied again.")
    withheld_by = serializers.CharField(allow_null=True, help_text=(
        "The order or opt-out that covers the picture under its new provenance: it is withheld and will be "
        "deleted. Null otherwise."))
    image = ImageSerializer()


class ImageFilterSerializer(serializers.Serializer):
    subject_id = serializers.UUIDField(required=False, help_text="Pictures of this subject (its id).")
    created_from = serializers.DateTimeField(required=False, help_text="Created at or after (ISO 8601).")
    created_to = serializers.DateTimeField(required=False, help_text="Created before (ISO 8601).")


class SubjectSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    label = serializers.CharField()
    notes = serializers.CharField(allow_blank=True)
    reference = serializers.CharField(allow_blank=True)
    picture_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SubjectCreateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200, help_text="The person's name or alias.")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                      help_text="The tenant's own record number.")


class SubjectUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200, required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- audit and health -------------------------------------------------------------------------
class AuditEventSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="Position in the tenant's own hash chain: 1, 2, 3… with no gaps.")
    action = serializers.CharField()
    actor_label = serializers.CharField(help_text="Who acted: a person's e-mail, an API key's name, or the system.")
    actor_api_key = serializers.SerializerMethodField(help_text="The id of the API key that acted, if one did.")
    target_type = serializers.CharField(allow_blank=True)
    target_id = serializers.CharField(allow_blank=True, help_text="The target's id (for the tenant's objects, the "
                                                                  "same id as in URLs and API bodies).")
    details = serializers.DictField()
    ip_address = serializers.IPAddressField(allow_null=True)
    created_at = serializers.DateTimeField()
    hash = serializers.CharField()
    prev_hash = serializers.CharField()

    def get_actor_api_key(self, event) -> str | None:
        if event.actor_api_key_id is None:
            return None
        if "_api_keys" not in self.context:  # the tenant's keys, once per page (read in its scope)
            self.context["_api_keys"] = {pk: str(public_id) for pk, public_id in
                                         ApiKey.objects.values_list("pk", "public_id")}
        return self.context["_api_keys"].get(event.actor_api_key_id)


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.CharField(required=False, max_length=64, help_text='e.g. "search.run".')
    created_from = serializers.DateTimeField(required=False)
    created_to = serializers.DateTimeField(required=False)


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"ok", or "unavailable" (with HTTP 503).')
    database = serializers.CharField(help_text='"ok" or "unavailable".')
    version = serializers.CharField()


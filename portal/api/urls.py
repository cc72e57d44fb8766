from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from portal.api.views.audit import AuditListView, AuditSignedHeadView
from portal.api.views.gallery import (FaceCropView, ImageDetailView, ImageListView, SubjectDetailView,
                                      SubjectListView, SubjectPicturesView)
from portal.api.views.health import HealthView
from portal.api.views.not_found import api_not_found
from portal.api.views.redoc_bundle import redoc_bundle
from portal.api.views.searches import FacesDetectView, SearchAuthorisationView, SearchDetailView, SearchListView
from portal.api.views.reports import YearlyReportView
from portal.api.views.reviews import MatchEvidenceView, MatchReviewsView


app_name = "api"
TENANT_SCHEMA = {"PREPROCESSING_HOOKS": ["portal.api.schema.tenant_endpoints_only"]}

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("schema/", SpectacularAPIView.as_view(custom_settings=TENANT_SCHEMA), name="schema"),
    # The split view serves Swagger UI's start-up code as a script of its own: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc-dist/bundles/redoc.standalone.js", redoc_bundle, name="redoc-bundle"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"), name="redoc"),
    path("searches", SearchListView.as_view(), name="searches"),
    path("searches/<uuid:search_id>", SearchDetailView.as_view(), name="search"),
    path("searches/<uuid:search_id>/authorisation", SearchAuthorisationView.as_view(), name="search-authorisation"),
    path("searches/<uuid:search_id>/matches/<uuid:match_id>/reviews", MatchReviewsView.as_view(), name="match-reviews"),
    path("searches/<uuid:search_id>/matches/<uuid:match_id>/evidence-pack", MatchEvidenceView.as_view(),
         name="match-evidence"),
    path("faces/detect", FacesDetectView.as_view(), name="faces-detect"),
    path("faces/<uuid:face_uuid>/crop", FaceCropView.as_view(), name="face-crop"),
    path("subjects", SubjectListView.as_view(), name="subjects"),
    path("subjects/<uuid:subject_id>", SubjectDetailView.as_view(), name="subject"),
    path("subjects/<uuid:subject_id>/pictures", SubjectPicturesView.as_view(), name="subject-pictures"),
    path("images", ImageListView.as_view(), name="images"),
    path("images/<uuid:image_id>", ImageDetailView.as_view(), name="image"),
    path("audit", AuditListView.as_view(), name="audit"),
    path("audit/signed-head", AuditSignedHeadView.as_view(), name="audit_signed_head"),
    path("reports/yearly", YearlyReportView.as_view(), name="reports-yearly"),
    # Anything else under /api/v1/ answers in the API's error shape, not with an HTML page.
    re_path(r"^[\s\S]*$", api_not_found),  # [\s\S], not ".": a path with a newline is an API 404 too
]

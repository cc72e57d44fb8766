"""The public request page, under /opt-out/: no account needed. The confirmation and status
links carry unguessable tokens, never a request's id."""

from django.urls import path, re_path

from portal.platform import request_views

urlpatterns = [
    path("", request_views.public_request, name="public_opt_out"),
    path("confirm/<str:token>/", request_views.public_request_confirm, name="public_request_confirm"),
    path("status/<str:token>/", request_views.public_request_status, name="public_request_status"),
    re_path(r"^status/(?P<token>[^/]+)/answer\.(?P<fmt>pdf|zip)$", request_views.public_request_answer,
            name="public_request_answer"),
]

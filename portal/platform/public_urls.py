"""The public opt-out page, under /opt-out/: no account needed."""

from django.urls import path

from portal.platform import views

urlpatterns = [
    path("", views.public_opt_out, name="public_opt_out"),
]

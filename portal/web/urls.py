from django.urls import path

from portal.web import views

# Everything here sits under /t/<tenant_slug>/ and is scoped by TenantMiddleware.
tenant_urlpatterns = [
    path("", views.tenant_dashboard, name="tenant_dashboard"),
]

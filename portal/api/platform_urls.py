"""/api/v1/platform/: the platform API (staff only). Included before the tenant API's catch-all."""

from django.urls import path

from portal.api.views import platform as api
from portal.api.views.reports import PlatformYearlyReportView

urlpatterns = [
    path("schema/", api.PlatformSchemaView.as_view(), name="platform_api_schema"),
    path("orders/", api.OrderListView.as_view(), name="platform_api_orders"),
    path("orders/<int:order_id>/", api.OrderDetailView.as_view(), name="platform_api_order"),
    path("orders/<int:order_id>/preview/", api.OrderPreviewView.as_view(), name="platform_api_order_preview"),
    path("orders/<int:order_id>/activate/", api.OrderActivateView.as_view(), name="platform_api_order_activate"),
    path("orders/<int:order_id>/certificate/", api.OrderCertificateView.as_view(),
         name="platform_api_order_certificate"),
    path("orders/<int:order_id>/certificate/signed/", api.OrderCertificateSignedView.as_view(),
         name="platform_api_order_certificate_signed"),
    path("reports/yearly", PlatformYearlyReportView.as_view(), name="platform_api_reports_yearly"),
]

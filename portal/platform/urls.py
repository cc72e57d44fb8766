"""The platform admin area, under /platform/."""

from django.urls import path

from portal.platform import proof_views, report_views, request_views, search_floors, views

urlpatterns = [
    path("", views.dashboard, name="platform_dashboard"),
    path("2fa/enrol/", views.two_factor_enrol, name="platform_2fa_enrol"),
    path("2fa/verify/", views.two_factor_verify, name="platform_2fa_verify"),
    path("2fa/backup-codes/", views.two_factor_backup_codes, name="platform_2fa_backup_codes"),
    path("operators/", views.operators, name="platform_operators"),
    path("tenants/", views.tenants, name="platform_tenants"),
    path("tenants/<int:tenant_id>/", views.tenant_detail, name="platform_tenant"),
    path("orders/", views.orders, name="platform_orders"),
    path("orders/new/", views.order_new, name="platform_order_new"),
    path("orders/<int:order_id>/", views.order_detail, name="platform_order"),
    path("orders/<int:order_id>/progress/", views.order_progress, name="platform_order_progress"),
    path("orders/<int:order_id>/activate/", views.order_activate, name="platform_order_activate"),
    path("orders/<int:order_id>/enforce/", views.order_enforce, name="platform_order_enforce"),
    path("orders/<int:order_id>/withdraw/", views.order_withdraw, name="platform_order_withdraw"),
    path("orders/<int:order_id>/certificate/", views.order_certificate, name="platform_order_certificate"),
    path("orders/<int:order_id>/certificate.json", views.order_certificate_json, name="platform_order_certificate_json"),
    path("orders/<int:order_id>/certificate.signed.json", proof_views.order_certificate_signed_download,
         name="platform_order_certificate_signed"),
    path("opt-outs/", views.opt_outs, name="platform_opt_outs"),
    path("opt-outs/<int:opt_out_id>/", views.opt_out_detail, name="platform_opt_out"),
    path("requests/", request_views.requests_dashboard, name="platform_requests"),
    path("requests/<int:request_id>/", request_views.request_detail, name="platform_request"),
    path("requests/<int:request_id>/<str:which>.img", request_views.request_face, name="platform_request_face"),
    path("audit/", views.audit, name="platform_audit"),
    path("signatures/", proof_views.signatures, name="platform_signatures"),
    path("search-floors/", search_floors.search_floors, name="platform_search_floors"),
    path("reports/yearly/", report_views.yearly_report, name="platform_yearly_report"),
    path("reports/yearly.csv", report_views.yearly_report_csv, name="platform_yearly_report_csv"),
]

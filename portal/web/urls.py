from django.urls import path

from portal.web import views

# Everything here sits under /t/<tenant_slug>/ and is scoped by TenantMiddleware.
tenant_urlpatterns = [
    path("", views.tenant_dashboard, name="tenant_dashboard"),
    # Search
    path("search/", views.search_new, name="search_new"),
    path("search/detect/", views.search_detect, name="search_detect"),
    path("searches/", views.search_history, name="search_history"),
    path("searches/<int:search_id>/", views.search_detail, name="search_detail"),
    path("searches/<int:search_id>/probe.jpg", views.search_probe_crop, name="search_probe_crop"),
    path("faces/<uuid:face_uuid>/crop.jpg", views.face_crop, name="face_crop"),
    # Galleries
    path("subjects/", views.subjects, name="subjects"),
    path("subjects/<int:subject_id>/", views.subject_detail, name="subject_detail"),
    path("subjects/<int:subject_id>/enrol/", views.subject_enrol, name="subject_enrol"),
    path("subjects/<int:subject_id>/delete/", views.subject_delete, name="subject_delete"),
    path("images/<int:image_id>/picture", views.image_file, name="image_file"),
    path("images/<int:image_id>/delete/", views.image_delete, name="image_delete"),
    # Administration
    path("admin/members/", views.members, name="members"),
    path("admin/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("admin/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("admin/api-keys/", views.api_keys, name="api_keys"),
    path("admin/api-keys/<int:api_key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("admin/settings/", views.tenant_settings, name="tenant_settings"),
    path("audit/", views.audit_log, name="audit_log"),
]

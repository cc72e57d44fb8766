from django.urls import path

from portal.web.views import (admin, audit, compliance, dashboard, gallery, reports, notices, requests, review, search,
                              webhooks)

# Everything here sits under /t/<tenant_slug>/ and is scoped by TenantMiddleware.
tenant_urlpatterns = [
    path("", dashboard.tenant_dashboard, name="tenant_dashboard"),
    # Search
    path("search/", search.search_new, name="search_new"),
    path("search/detect/", search.search_detect, name="search_detect"),
    path("searches/", search.search_history, name="search_history"),
    path("searches/<uuid:search_id>/", search.search_detail, name="search_detail"),
    path("searches/<uuid:search_id>/probe.jpg", search.search_probe_crop, name="search_probe_crop"),
    path("searches/<uuid:search_id>/faces/", search.search_probe_faces, name="search_probe_faces"),
    path("searches/<uuid:search_id>/authorisation/", search.search_authorisation_record,
         name="search_authorisation_record"),
    path("searches/<uuid:search_id>/matches/<uuid:match_id>/reviews/", review.match_review, name="match_review"),
    path("searches/<uuid:search_id>/matches/<uuid:match_id>/evidence/", review.match_evidence, name="match_evidence"),
    path("faces/<uuid:face_uuid>/crop.jpg", search.face_crop, name="face_crop"),
    # Galleries
    path("subjects/", gallery.subjects, name="subjects"),
    path("subjects/<uuid:subject_id>/", gallery.subject_detail, name="subject_detail"),
    path("subjects/<uuid:subject_id>/enrol/", gallery.subject_enrol, name="subject_enrol"),
    path("subjects/<uuid:subject_id>/delete/", gallery.subject_delete, name="subject_delete"),
    path("images/<uuid:image_id>/picture", gallery.image_file, name="image_file"),
    path("images/<uuid:image_id>/thumbnail", gallery.image_thumbnail, name="image_thumbnail"),
    path("images/<uuid:image_id>/delete/", gallery.image_delete, name="image_delete"),
    # Administration
    path("admin/members/", admin.members, name="members"),
    path("admin/members/<uuid:membership_id>/role/", admin.member_role, name="member_role"),
    path("admin/members/<uuid:membership_id>/review/", admin.member_review, name="member_review"),
    path("admin/members/<uuid:membership_id>/unlock/", admin.member_unlock, name="member_unlock"),
    path("admin/members/<uuid:membership_id>/remove/", admin.member_remove, name="member_remove"),
    path("admin/invitations/<uuid:invitation_id>/revoke/", admin.invitation_revoke, name="invitation_revoke"),
    path("admin/api-keys/", admin.api_keys, name="api_keys"),
    path("admin/api-keys/<uuid:api_key_id>/revoke/", admin.api_key_revoke_view, name="api_key_revoke"),
    path("admin/settings/", admin.tenant_settings, name="tenant_settings"),
    path("admin/webhooks/", webhooks.webhooks, name="webhooks"),
    path("admin/webhooks/<uuid:endpoint_id>/disable/", webhooks.webhook_disable, name="webhook_disable"),
    path("admin/webhooks/deliveries/<uuid:delivery_id>/replay/", webhooks.webhook_replay, name="webhook_replay"),
    path("notices/", notices.notices, name="notices"),
    path("notices/<uuid:notice_id>/acknowledge/", notices.notice_acknowledge, name="notice_acknowledge"),
    path("requests/", requests.inbox, name="requests_inbox"),
    path("requests/<uuid:request_id>/", requests.forwarded_detail, name="forwarded_request"),
    path("compliance/", compliance.compliance, name="compliance"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
    path("audit/signed-head.json", audit.audit_signed_head, name="audit_signed_head"),
    path("audit/signed-head/check/", audit.audit_signed_head_check, name="audit_signed_head_check"),
    path("reports/yearly/", reports.yearly_report_page, name="yearly_report"),
    path("reports/yearly.csv", reports.yearly_report_csv, name="yearly_report_csv"),
]

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.api.pagination import AuditCursorPagination
from portal.audit.heads import audit_chain_head_sign
from portal.audit.selectors import audit_events_list
from portal.api.serializers import AuditEventSerializer, AuditFilterSerializer


class AuditListView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.AUDIT_READ}
    pagination_class = AuditCursorPagination

    @extend_schema(tags=["audit"], summary="The tenant's own audit events, newest first",
                   parameters=[AuditFilterSerializer], responses=AuditEventSerializer(many=True))
    def get(self, request):
        filters = self.query_validated(AuditFilterSerializer)
        return self.page(audit_events_list(tenant=self.tenant, **filters), AuditEventSerializer)


class AuditSignedHeadView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.AUDIT_READ}

    @extend_schema(tags=["audit"], responses=OpenApiTypes.OBJECT,
                   summary="A signed statement of the head of the tenant's own audit chain",
                   description="Keep the bytes unchanged: later, `manage.py audit_heads_check` (run by the "
                               "operator, or by an auditor on the portal) shows whether the chain was rewritten.")
    def get(self, request):
        response = HttpResponse(audit_chain_head_sign(tenant=self.tenant), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="audit-head-{self.tenant.slug}.signed.json"'
        return response

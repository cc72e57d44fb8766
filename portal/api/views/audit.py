from drf_spectacular.utils import extend_schema

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.api.pagination import AuditCursorPagination
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

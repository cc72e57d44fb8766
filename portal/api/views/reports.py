"""GET /api/v1/reports/yearly (a tenant's year) and /api/v1/platform/reports/yearly (every
tenant's): the dictionary of portal.search.yearly_report, which the pages and CSVs render too."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from portal.api.base import TenantApiView
from portal.api.models import ApiKeyScope
from portal.api.serializers_reports import PlatformYearlyReportSerializer, YearlyReportSerializer
from portal.api.views.platform import READ, PlatformApiView
from portal.search.yearly_report import (FIRST_YEAR, platform_report_data, platform_yearly_report, report_data,
                                         report_year_parse, yearly_report)

YEAR = OpenApiParameter("year", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False,
                        description=f"The calendar year (UTC), from {FIRST_YEAR} to this year; this year when "
                                    "omitted. Anything else is a 400 naming the field `year`.")
DESCRIPTION = ("Searches by purpose, month and authorisation, leads shown, matches confirmed, rejected and "
               "inconclusive (the review rule, as it stands now), urgent searches and their outcome, and "
               "evidence-pack exports, for the annual reports to the market-surveillance and data-protection "
               "authorities (EU AI Act Art. 26(10)). The same figures as the yearly report's page and CSV.")


class YearlyReportView(TenantApiView):
    required_scopes = {"GET": ApiKeyScope.AUDIT_READ}

    @extend_schema(tags=["reports"], summary="The tenant's yearly report", description=DESCRIPTION,
                   parameters=[YEAR], responses=YearlyReportSerializer, operation_id="reports_yearly_retrieve")
    def get(self, request):
        year = report_year_parse(value=request.query_params.get("year"))
        return Response(report_data(yearly_report(tenant=self.tenant, year=year)))


class PlatformYearlyReportView(PlatformApiView):
    required_scopes = READ

    @extend_schema(summary="Every tenant's yearly report, one entry per tenant, and the totals",
                   description=DESCRIPTION, parameters=[YEAR], responses=PlatformYearlyReportSerializer,
                   operation_id="platform_reports_yearly")
    def get(self, request):
        year = report_year_parse(value=request.query_params.get("year"))
        return Response(platform_report_data(platform_yearly_report(year=year)))

"""The tenant's yearly report (owners and auditors): the page with its chart, and its CSV. Both
render portal.search.yearly_report, as the API does, so the three always agree."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.platform.charts import bar_chart_svg
from portal.search.yearly_report import (FIRST_YEAR, ReportInvalid, figures_labelled, report_csv, report_year_parse,
                                         yearly_report)
from tenants.middleware import membership_required


# Twelve short labels: narrow, so that the chart is legible at 390 px too.
MONTHS_CHART = {"width": 320, "label_width": 40, "bar_height": 18}


def report_years(*, first: int, shown: int | None, today) -> list[int]:
    """The years to choose from, newest first: from the tenant's first year (or the year shown)."""
    start = max(FIRST_YEAR, min(first, shown or first))
    return list(range(today.year, start - 1, -1))


def csv_response(content: str, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@membership_required(allowed="can_audit")
@require_GET
def yearly_report_page(request, tenant_slug):
    tenant, today = request.tenant, timezone.localdate()
    try:
        year = report_year_parse(value=request.GET.get("year"), today=today)
    except ReportInvalid as error:
        return render(request, "portal/yearly_report.html", {
            "error": error.message, "years": report_years(first=tenant.created_at.year, shown=None, today=today)},
            status=400)
    report = yearly_report(tenant=tenant, year=year)
    labelled = figures_labelled(report.figures)
    return render(request, "portal/yearly_report.html", {
        "report": report, "figures": report.figures, "labelled": labelled, "year": year,
        "years": report_years(first=tenant.created_at.year, shown=year, today=today),
        "previous_year": year - 1 if year > FIRST_YEAR else None, "next_year": year + 1 if year < today.year else None,
        "chart": bar_chart_svg(rows=labelled["months"], title=_("Searches per month in %(year)d") % {"year": year},
                               **MONTHS_CHART),
    })


@membership_required(allowed="can_audit")
@require_GET
def yearly_report_csv(request, tenant_slug):
    try:
        year = report_year_parse(value=request.GET.get("year"))
    except ReportInvalid as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    report = yearly_report(tenant=request.tenant, year=year)
    return csv_response(report_csv(report), filename=f"yearly-report-{request.tenant.slug}-{year}.csv")

"""The platform's yearly report (/platform/reports/yearly/): every tenant's year, one row each,
and the totals, for the operator to hand to an authority; and its CSV. Both render
portal.search.yearly_report, as the platform API does."""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.platform.charts import bar_chart_svg
from portal.platform.views import platform_view
from portal.search.yearly_report import (FIRST_YEAR, ReportInvalid, figures_labelled, platform_report_csv,
                                         platform_yearly_report, report_year_parse)


def _years(today) -> list[int]:
    return list(range(today.year, FIRST_YEAR - 1, -1))


@platform_view
@require_GET
def yearly_report(request):
    today = timezone.localdate()
    try:
        year = report_year_parse(value=request.GET.get("year"), today=today)
    except ReportInvalid as error:
        return render(request, "platform/yearly_report.html", {"error": error.message, "years": _years(today)},
                      status=400)
    report = platform_yearly_report(year=year)
    return render(request, "platform/yearly_report.html", {
        "report": report, "year": year, "years": _years(today), "figures": report.totals,
        "labelled": figures_labelled(report.totals),
        "previous_year": year - 1 if year > FIRST_YEAR else None, "next_year": year + 1 if year < today.year else None,
        "chart": bar_chart_svg(rows=figures_labelled(report.totals)["months"],
                               title=_("Searches per month in %(year)d, all tenants") % {"year": year},
                               width=320, label_width=40, bar_height=18),
        "tenants_chart": bar_chart_svg(rows=[(row.tenant.name[:15], row.figures.searches) for row in report.rows],
                                       title=_("Searches per tenant in %(year)d") % {"year": year}, colour="#1b7f4b",
                                       width=340, label_width=100, bar_height=18),
    })


@platform_view
@require_GET
def yearly_report_csv(request):
    try:
        year = report_year_parse(value=request.GET.get("year"))
    except ReportInvalid as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(platform_report_csv(platform_yearly_report(year=year)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="yearly-report-all-tenants-{year}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response

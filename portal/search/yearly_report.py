"""The yearly report (EU AI Act Art. 26(10): annual reports to the market-surveillance and
data-protection authorities): per tenant and calendar year, its searches by purpose and by
authorisation, the leads shown, the matches confirmed and rejected, its urgent searches and their
outcome, and its evidence-pack exports.

One module computes it; the tenant's page, its CSV, the tenant API, the platform's page, its CSV
and the platform API all render what it returns, so they cannot disagree. Four statements
aggregate in SQL, grouped by tenant, whatever the number of searches: the tenant's report runs
them in the tenant's scope (RLS), the platform's report unscoped, on the platform's connection.

What each figure counts (docs/compliance.md, "The yearly report"):

- Searches run in the year (UTC, the portal's time zone), by purpose (as written, trimmed, spaces
  collapsed, compared case-insensitively) and by authorisation status. An urgent search past its 48
  hours with no decision counts as overdue even before the beat task deletes its results.
- Leads shown, confirmed, rejected and inconclusive: the matches of those searches, as they are now.
  A lead is a match at or above its search's threshold; a match's state is the review rule's
  (portal/search/reviews.py), recomputed here in SQL from each reviewer's latest verdict. Matches
  deleted since (a refused or overdue authorisation, an erased face) are no longer counted:
  `results_erased` says how many of the year's searches lost theirs to an authorisation.
- Exports: evidence packs exported (disclosures) in the year, whenever their search ran.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone
from django.utils.dates import MONTHS_3, MONTHS_AP
from django.utils.translation import get_language, gettext as _

from portal.errors import DomainError
from portal.search.models import Authorisation, Disclosure
from tenants.context import dangerously_unscoped, scope_connection, tenant_scope
from tenants.models import Tenant

FIRST_YEAR = 2000
URGENT_OUTCOMES = (Authorisation.GRANTED, Authorisation.REFUSED, Authorisation.OVERDUE, Authorisation.PENDING)


def _month_label(month: int) -> str:
    """Jan … Dec in English; in French the abbreviations French writes (Juin, Juil.), since the
    three-letter ones would name June and July alike."""
    if (get_language() or "en").startswith("en"):
        return str(MONTHS_3[month]).title()
    return str(MONTHS_AP[month]).capitalize()


class ReportInvalid(DomainError):
    """A year the report cannot be made for (names the field)."""

    code = "invalid_year"


def report_year_parse(*, value: str | None, today: date | None = None) -> int:
    """The report's year from a query string: this year when none is given; 400 for anything but a
    year from FIRST_YEAR to this year."""
    today = today or timezone.localdate()
    if value is None or not value.strip():
        return today.year
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 4:
        raise ReportInvalid(_("The year is a number such as %(year)d.") % {"year": today.year}, field="year")
    year = int(value)
    if not FIRST_YEAR <= year <= today.year:
        raise ReportInvalid(_("The year must be from %(first)d to %(last)d.") % {"first": FIRST_YEAR,
                                                                                 "last": today.year}, field="year")
    return year


@dataclass
class PurposeCount:
    purpose: str
    searches: int


@dataclass
class YearFigures:
    searches: int = 0
    by_month: list[int] = field(default_factory=lambda: [0] * 12)
    by_purpose: list[PurposeCount] = field(default_factory=list)
    by_authorisation: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Authorisation.values, 0))
    results_erased: int = 0
    leads_shown: int = 0
    matches_confirmed: int = 0
    matches_rejected: int = 0
    matches_inconclusive: int = 0
    urgent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(["total", *URGENT_OUTCOMES], 0))
    exports: dict[str, int] = field(default_factory=lambda: dict.fromkeys(["total", *Disclosure.Format.values], 0))

    def add(self, other: YearFigures) -> None:
        """Adds another tenant's figures (the platform's totals)."""
        for name in ("searches", "results_erased", "leads_shown", "matches_confirmed", "matches_rejected",
                     "matches_inconclusive"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.by_month = [a + b for a, b in zip(self.by_month, other.by_month)]
        for mine, theirs in ((self.by_authorisation, other.by_authorisation), (self.urgent, other.urgent),
                             (self.exports, other.exports)):
            for key, n in theirs.items():
                mine[key] += n
        purposes = {p.purpose.lower(): p for p in self.by_purpose}
        for p in other.by_purpose:
            if p.purpose.lower() in purposes:
                purposes[p.purpose.lower()].searches += p.searches
            else:
                purposes[p.purpose.lower()] = PurposeCount(purpose=p.purpose, searches=p.searches)
        self.by_purpose = sorted(purposes.values(), key=lambda p: (-p.searches, p.purpose.lower()))


@dataclass
class TenantYearReport:
    year: int
    tenant: Tenant
    figures: YearFigures
    generated_at: datetime


@dataclass
class PlatformYearReport:
    year: int
    rows: list[TenantYearReport]
    totals: YearFigures
    generated_at: datetime


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The year as a half-open range of instants in the portal's time zone."""
    return (timezone.make_aware(datetime(year, 1, 1)), timezone.make_aware(datetime(year + 1, 1, 1)))


# -- the four statements ---------------------------------------------------------------------------
# %(tenant)s is NULL for the platform's report; RLS limits a tenant's anyway.
_IN_YEAR = "s.created_at >= %(start)s AND s.created_at < %(end)s AND (%(tenant)s::bigint IS NULL OR s.tenant_id = %(tenant)s)"

_SEARCHES = f"""
SELECT s.tenant_id, extract(month FROM s.created_at AT TIME ZONE %(tz)s)::int,
       CASE WHEN s.authorisation = 'pending' AND s.authorisation_due_at <= %(now)s THEN 'overdue'
            ELSE s.authorisation END,
       s.urgent, count(*), count(*) FILTER (WHERE s.results_erased_at IS NOT NULL)
FROM search_search s WHERE {_IN_YEAR} GROUP BY 1, 2, 3, 4"""

_PURPOSES = rf"""
SELECT s.tenant_id, min(regexp_replace(btrim(s.purpose), '\s+', ' ', 'g') COLLATE "C"), count(*)
FROM search_search s WHERE {_IN_YEAR}
GROUP BY s.tenant_id, lower(regexp_replace(btrim(s.purpose), '\s+', ' ', 'g'))
ORDER BY 1, 3 DESC, 2"""

# The review rule of portal/search/reviews.py in SQL: each reviewer's latest verdict stands; a
# standing rejection makes a match rejected, else a standing inconclusive verdict inconclusive;
# else it is confirmed when enough people stand by a confirmation and one of them is not the
# searcher (the signed-in user, or the person who made the API key). The tenant decides how many
# are enough (Tenant.confirmations_required), so both counts come back.
_MATCHES = f"""
WITH year_searches AS (
    SELECT s.id, s.tenant_id, coalesce(s.actor_user_id, k.created_by_id) AS searcher
    FROM search_search s LEFT JOIN api_apikey k ON k.id = s.actor_api_key_id AND k.tenant_id = s.tenant_id
    WHERE {_IN_YEAR}
), standing AS (
    SELECT DISTINCT ON (r.match_id, r.reviewer_id) r.match_id, r.reviewer_id, r.verdict
    FROM search_matchreview r JOIN year_searches ys ON ys.id = r.search_id
    ORDER BY r.match_id, r.reviewer_id, r.created_at DESC, r.id DESC
), per_match AS (
    SELECT ys.tenant_id, m.band,
           coalesce(bool_or(st.verdict = 'rejected'), false) AS rejected,
           coalesce(bool_or(st.verdict = 'inconclusive'), false) AS inconclusive,
           count(st.reviewer_id) FILTER (WHERE st.verdict = 'confirmed') AS confirmers,
           coalesce(bool_or(st.verdict = 'confirmed' AND st.reviewer_id IS DISTINCT FROM ys.searcher), false)
               AS not_only_the_searcher
    FROM search_searchmatch m JOIN year_searches ys ON ys.id = m.search_id
    LEFT JOIN standing st ON st.match_id = m.id
    GROUP BY m.id, ys.tenant_id, m.band
)
SELECT tenant_id, count(*) FILTER (WHERE band <> 'below'), count(*) FILTER (WHERE rejected),
       count(*) FILTER (WHERE NOT rejected AND inconclusive),
       count(*) FILTER (WHERE NOT rejected AND NOT inconclusive AND not_only_the_searcher AND confirmers >= 1),
       count(*) FILTER (WHERE NOT rejected AND NOT inconclusive AND not_only_the_searcher AND confirmers >= 2)
FROM per_match GROUP BY tenant_id"""

_EXPORTS = f"""
SELECT s.tenant_id, s.format, count(*) FROM search_disclosure s WHERE {_IN_YEAR} GROUP BY 1, 2"""


def _figures(*, tenants: list[Tenant], year: int, tenant_id: int | None, now: datetime) -> dict[int, YearFigures]:
    start, end = year_bounds(year)
    params = {"start": start, "end": end, "tenant": tenant_id, "now": now, "tz": timezone.get_default_timezone_name()}
    figures = {t.pk: YearFigures() for t in tenants}
    required = {t.pk: t.confirmations_required for t in tenants}
    with scope_connection().cursor() as cursor:
        cursor.execute(_SEARCHES, params)
        for tid, month, status, urgent, n, erased in cursor.fetchall():
            f = figures[tid]
            f.searches += n
            f.by_month[month - 1] += n
            f.by_authorisation[status] += n
            f.results_erased += erased
            if urgent:
                f.urgent["total"] += n
                f.urgent[status] += n
        cursor.execute(_PURPOSES, params)
        for tid, purpose, n in cursor.fetchall():
            figures[tid].by_purpose.append(PurposeCount(purpose=purpose, searches=n))
        cursor.execute(_MATCHES, params)
        for tid, leads, rejected, inconclusive, by_one, by_two in cursor.fetchall():
            f = figures[tid]
            f.leads_shown, f.matches_rejected, f.matches_inconclusive = leads, rejected, inconclusive
            f.matches_confirmed = by_two if required[tid] >= 2 else by_one
        cursor.execute(_EXPORTS, params)
        for tid, export_format, n in cursor.fetchall():
            figures[tid].exports["total"] += n
            figures[tid].exports[export_format] += n
    return figures


def yearly_report(*, tenant: Tenant, year: int, now: datetime | None = None) -> TenantYearReport:
    """One tenant's report for a calendar year, read in the tenant's scope."""
    now = now or timezone.now()
    with tenant_scope(tenant):
        figures = _figures(tenants=[tenant], year=year, tenant_id=tenant.pk, now=now)
    return TenantYearReport(year=year, tenant=tenant, figures=figures[tenant.pk], generated_at=now)


def platform_yearly_report(*, year: int, now: datetime | None = None) -> PlatformYearReport:
    """Every tenant's report for a calendar year, one row per tenant (by name), and the totals."""
    now = now or timezone.now()
    with dangerously_unscoped(reason="the platform's yearly report counts every tenant's searches"):
        tenants = list(Tenant.objects.order_by("name", "pk"))
        figures = _figures(tenants=tenants, year=year, tenant_id=None, now=now)
    totals = YearFigures()
    for tenant in tenants:
        totals.add(figures[tenant.pk])
    return PlatformYearReport(year=year, totals=totals, generated_at=now, rows=[
        TenantYearReport(year=year, tenant=tenant, figures=figures[tenant.pk], generated_at=now) for tenant in tenants])


# -- the shapes it leaves in ---------------------------------------------------------------------

def figures_data(figures: YearFigures, *, year: int) -> dict:
    """The figures as the APIs give them (and the CSV flattens)."""
    return {
        "searches": {
            "total": figures.searches,
            "by_month": {f"{year}-{n:02d}": count for n, count in enumerate(figures.by_month, start=1)},
            "by_purpose": [{"purpose": p.purpose, "searches": p.searches} for p in figures.by_purpose],
            "by_authorisation": dict(figures.by_authorisation),
            "results_erased": figures.results_erased,
        },
        "matches": {"leads_shown": figures.leads_shown, "confirmed": figures.matches_confirmed,
                    "rejected": figures.matches_rejected, "inconclusive": figures.matches_inconclusive},
        "urgent_searches": dict(figures.urgent),
        "evidence_pack_exports": dict(figures.exports),
    }


def _tenant_data(tenant: Tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name, "kind": tenant.kind}


def _period(year: int) -> dict:
    start, end = year_bounds(year)
    return {"year": year, "from": start.isoformat(), "to": end.isoformat()}


def report_data(report: TenantYearReport) -> dict:
    return {"period": _period(report.year), "generated_at": report.generated_at.isoformat(),
            "tenant": _tenant_data(report.tenant), **figures_data(report.figures, year=report.year)}


def platform_report_data(report: PlatformYearReport) -> dict:
    return {"period": _period(report.year), "generated_at": report.generated_at.isoformat(),
            "tenants": [{"tenant": _tenant_data(row.tenant), **figures_data(row.figures, year=report.year)}
                        for row in report.rows],
            "totals": figures_data(report.totals, year=report.year)}


def _figure_rows(data: dict) -> list[tuple[str, str, int]]:
    """(section, item, value) for every figure of figures_data()."""
    rows = []
    for group, values in data.items():
        for name, value in values.items():
            if isinstance(value, dict):
                rows += [(f"{group}.{name}", item, n) for item, n in value.items()]
            elif isinstance(value, list):
                rows += [(f"{group}.{name}", entry["purpose"], entry["searches"]) for entry in value]
            else:
                rows.append((group, name, value))
    return rows


def _cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (a purpose is free text)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return buffer.getvalue()


def report_csv(report: TenantYearReport) -> str:
    """One line per figure: year, tenant, section, item, value."""
    data = figures_data(report.figures, year=report.year)
    return _csv(["year", "tenant", "section", "item", "value"],
                [[report.year, report.tenant.slug, *row] for row in _figure_rows(data)])


def platform_report_csv(report: PlatformYearReport) -> str:
    """The same lines for each tenant, then the totals (tenant "all")."""
    rows = [[report.year, row.tenant.slug, *figure] for row in report.rows
            for figure in _figure_rows(figures_data(row.figures, year=report.year))]
    rows += [[report.year, "all", *figure] for figure in _figure_rows(figures_data(report.totals, year=report.year))]
    return _csv(["year", "tenant", "section", "item", "value"], rows)


def figures_labelled(figures: YearFigures) -> dict[str, list[tuple[str, int]]]:
    """The figures with the words the pages show beside them, in the current language."""
    return {
        "months": [(_month_label(n), count) for n, count in enumerate(figures.by_month, start=1)],
        "authorisation": [(str(label), figures.by_authorisation[value]) for value, label in Authorisation.choices],
        "urgent": [(_("Authorised"), figures.urgent[Authorisation.GRANTED]),
                   (_("Refused"), figures.urgent[Authorisation.REFUSED]),
                   (_("Not authorised within 48 hours"), figures.urgent[Authorisation.OVERDUE]),
                   (_("Still awaiting the decision"), figures.urgent[Authorisation.PENDING])],
        "matches": [(_("Leads shown"), figures.leads_shown), (_("Confirmed"), figures.matches_confirmed),
                    (_("Rejected"), figures.matches_rejected), (_("Inconclusive"), figures.matches_inconclusive)],
        "exports": [(_("PDF"), figures.exports["pdf"]), (_("JSON"), figures.exports["json"])],
    }

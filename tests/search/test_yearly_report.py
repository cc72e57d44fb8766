"""The yearly report (portal/search/yearly_report.py): the figures of a tenant's known year, never
another tenant's, year boundaries, the review rule in SQL agreeing with the rule in Python, the
platform's rows and totals, a constant number of queries, and a clear error for a bad year."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.search.models import SearchMatch
from portal.search.reviews import search_review_states
from portal.search.yearly_report import (ReportInvalid, platform_report_data, platform_yearly_report, report_csv,
                                         report_data, report_year_parse, yearly_report)
from tenants.context import tenant_scope
from tests.builders import report_figures, review_give, search_in_year, _at

pytestmark = pytest.mark.django_db


def test_a_tenants_year_has_the_figures_of_its_searches(yearly_world):
    a = yearly_world.two_tenants.a
    report = yearly_report(tenant=a.tenant, year=2026)
    assert report_figures(report_data(report)) == yearly_world.expected_a


def test_one_tenants_report_never_counts_the_others(yearly_world):
    b = yearly_world.two_tenants.b
    data = report_data(yearly_report(tenant=b.tenant, year=2026))
    assert report_figures(data) == yearly_world.expected_b
    assert data["tenant"]["slug"] == "retailer-b"


def test_the_years_boundaries_are_midnight_of_new_year(yearly_world):
    a = yearly_world.two_tenants.a
    before = report_data(yearly_report(tenant=a.tenant, year=2025))
    # 2025-12-31 23:59:59.999999 is 2025; 2026-01-01 00:00:00 is 2026 (January's one search).
    assert before["searches"]["total"] == 1 and before["searches"]["by_month"]["2025-12"] == 1
    assert before["matches"]["leads_shown"] == 1
    # Exports count by the day they left, and these left in 2026.
    assert before["evidence_pack_exports"]["total"] == 0
    assert before["period"] == {"year": 2025, "from": "2025-01-01T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"}
    empty = report_data(yearly_report(tenant=a.tenant, year=2024))
    assert empty["searches"]["total"] == 0 and empty["searches"]["by_purpose"] == []


def test_the_rule_in_sql_agrees_with_the_review_rule(two_tenants):
    """Every combination the rule distinguishes, counted by the report and by reviews.py."""
    a = two_tenants.a
    from tests.builders import reviewers_allow
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin, a.investigator])
    search = search_in_year(world=a, when=_at(2026, 4, 1), leads=7, authorisation="granted",
                            authorisation_authority="Court", authorisation_reference="R", authorisation_date=date(2026, 1, 1))
    with tenant_scope(a.tenant):
        matches = list(SearchMatch.objects.filter(search=search).order_by("rank"))
    plans = [
        [(a.owner, "confirmed"), (a.admin, "confirmed")],  # confirmed
        [(a.investigator, "confirmed"), (a.owner, "confirmed")],  # the searcher first: confirmed
        [(a.owner, "confirmed")],  # one person: unconfirmed
        [(a.owner, "rejected"), (a.owner, "confirmed"), (a.admin, "confirmed")],  # a changed mind: confirmed
        [(a.owner, "confirmed"), (a.admin, "confirmed"), (a.admin, "rejected")],  # rejected after all
        [(a.owner, "inconclusive"), (a.admin, "confirmed")],  # inconclusive
        [],  # not reviewed
    ]
    for match, plan in zip(matches, plans):
        for user, verdict in plan:
            review_give(world=a, search=search, match=match, user=user, verdict=verdict, reason="Compared ears.")
    with tenant_scope(a.tenant):
        a.tenant.refresh_from_db()
        states = search_review_states(tenant=a.tenant, search=search, matches=matches)
    python = [states[m.pk].state for m in matches]
    assert python == ["confirmed", "confirmed", "unconfirmed", "confirmed", "rejected", "inconclusive", "unconfirmed"]
    data = report_data(yearly_report(tenant=a.tenant, year=2026))
    assert data["matches"] == {"leads_shown": 7, "confirmed": python.count("confirmed"),
                               "rejected": python.count("rejected"), "inconclusive": python.count("inconclusive")}


def test_one_confirmation_is_enough_where_the_tenant_switched_two_person_review_off(two_tenants):
    b = two_tenants.b  # retail: the tenant may switch it off
    from tests.builders import reviewers_allow
    reviewers_allow(tenant=b.tenant, users=[b.owner])
    search = search_in_year(world=b, when=_at(2026, 4, 1), leads=1)
    with tenant_scope(b.tenant):
        [match] = SearchMatch.objects.filter(search=search)
    review_give(world=b, search=search, match=match, user=b.owner)
    assert report_data(yearly_report(tenant=b.tenant, year=2026))["matches"]["confirmed"] == 0
    with tenant_scope(b.tenant):
        type(b.tenant).objects.filter(pk=b.tenant.pk).update(two_person_review=False)
    b.tenant.refresh_from_db()
    assert report_data(yearly_report(tenant=b.tenant, year=2026))["matches"]["confirmed"] == 1


def test_the_platform_report_has_a_row_per_tenant_and_their_totals(yearly_world):
    data = platform_report_data(platform_yearly_report(year=2026))
    rows = {row["tenant"]["slug"]: report_figures(row) for row in data["tenants"]}
    assert rows == {"agency-a": yearly_world.expected_a, "retailer-b": yearly_world.expected_b}
    totals = report_figures(data["totals"])
    assert totals["searches"]["total"] == 8
    assert totals["searches"]["by_purpose"] == [("Missing person", 3), ("Robbery suspect", 2), ("Shoplifting", 2),
                                                ("", 1)]
    assert totals["matches"] == {"leads_shown": 6, "confirmed": 2, "rejected": 1, "inconclusive": 1}
    assert totals["evidence_pack_exports"] == {"total": 3, "pdf": 1, "json": 2}
    assert totals["urgent_searches"] == yearly_world.expected_a["urgent_searches"]
    for key in ("by_month", "by_authorisation"):
        a, b = yearly_world.expected_a["searches"][key], yearly_world.expected_b["searches"][key]
        assert totals["searches"][key] == ([x + y for x, y in zip(a, b)] if key == "by_month"
                                           else {k: a[k] + b[k] for k in a})


def _statements(tenant, year):
    with CaptureQueriesContext(connection) as captured:
        yearly_report(tenant=tenant, year=year)
    return len(captured.captured_queries)


def test_the_report_costs_the_same_queries_for_one_search_or_many(yearly_world):
    a, b = yearly_world.two_tenants.a, yearly_world.two_tenants.b
    many, one = _statements(a.tenant, 2026), _statements(b.tenant, 2026)
    assert many == one
    assert many <= 10  # the scope's own statements, and four that aggregate


def test_the_csv_has_every_figure_of_the_json(yearly_world):
    a = yearly_world.two_tenants.a
    report = yearly_report(tenant=a.tenant, year=2026)
    lines = report_csv(report).splitlines()
    assert lines[0] == "year,tenant,section,item,value"
    assert "2026,agency-a,matches,confirmed,1" in lines
    assert "2026,agency-a,searches.by_purpose,Missing person,3" in lines
    assert "2026,agency-a,searches.by_month,2026-03,2" in lines
    assert "2026,agency-a,urgent_searches,overdue,1" in lines
    assert "2026,agency-a,evidence_pack_exports,pdf,1" in lines


def test_a_purpose_that_looks_like_a_formula_is_not_one_in_the_csv(two_tenants):
    b = two_tenants.b
    search_in_year(world=b, when=_at(2026, 2, 2), purpose="=HYPERLINK(\"http://evil.example\")")
    assert "'=HYPERLINK" in report_csv(yearly_report(tenant=b.tenant, year=2026))


@pytest.mark.parametrize("value, year", [(None, 2026), ("", 2026), ("2026", 2026), (" 2000 ", 2000)])
def test_the_year_defaults_to_this_one(value, year):
    assert report_year_parse(value=value, today=date(2026, 11, 23)) == year


@pytest.mark.parametrize("value, message", [
    ("twenty", "The year is a number such as 2026."), ("2026.5", "The year is a number such as 2026."),
    ("-1", "The year is a number such as 2026."), ("٢٠٢٦", "The year is a number such as 2026."),
    ("99999999999999999999", "The year is a number such as 2026."),
    ("1999", "The year must be from 2000 to 2026."), ("2027", "The year must be from 2000 to 2026."),
])
def test_a_bad_year_is_refused_with_a_clear_message(value, message):
    with pytest.raises(ReportInvalid) as refused:
        report_year_parse(value=value, today=date(2026, 11, 23))
    assert refused.value.message == message and refused.value.field == "year" and refused.value.status == 400


def test_row_level_security_holds_the_tenants_report_even_without_its_filter(yearly_world):
    """The statements filter by tenant; RLS is the wall behind that filter: run without it in A's
    scope, they still see none of B's searches, matches, verdicts or disclosures."""
    from django.utils import timezone

    from portal.search.yearly_report import _figures

    a, b = yearly_world.two_tenants.a.tenant, yearly_world.two_tenants.b.tenant
    with tenant_scope(a):
        figures = _figures(tenants=[a, b], year=2026, tenant_id=None, now=timezone.now())
    assert figures[b.pk].searches == 0 and figures[b.pk].leads_shown == 0
    assert figures[b.pk].exports["total"] == 0 and figures[b.pk].matches_confirmed == 0
    assert figures[a.pk].searches == 6

"""The tenant's yearly report page and CSV (portal/web/views/reports.py): for owners and auditors,
the figures of the service, a chart with no script, the same figures in the CSV, and a clear 400
for a bad year."""

import csv
import io

import pytest

from portal.search.yearly_report import report_data
from tests.builders import report_figures

pytestmark = pytest.mark.django_db

PAGE, CSV = "/t/agency-a/reports/yearly/", "/t/agency-a/reports/yearly.csv"


def _csv_figures(body: str) -> dict:
    """The CSV's lines back in the JSON's shape."""
    rows = list(csv.DictReader(io.StringIO(body)))
    data: dict = {}
    for row in rows:
        group, _dot, name = row["section"].partition(".")
        value = int(row["value"])
        if name == "by_purpose":
            data.setdefault(group, {}).setdefault(name, []).append({"purpose": row["item"], "searches": value})
        elif name:
            data.setdefault(group, {}).setdefault(name, {})[row["item"]] = value
        else:
            data.setdefault(group, {})[row["item"]] = value
    return data


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_owners_and_auditors_see_the_year(client, yearly_world, role):
    a = yearly_world.two_tenants.a
    client.force_login(getattr(a, role))
    page = client.get(PAGE, {"year": "2026"})
    assert page.status_code == 200
    body = page.content.decode()
    assert report_figures(report_data(page.context["report"])) == yearly_world.expected_a
    assert "Yearly report 2026" in body and "Art. 26(10)" in body
    assert '<svg class="chart"' in body and "<script>" not in body.split("</main>")[0]
    assert "Missing person" in body and "Robbery suspect" in body and "Shoplifting" not in body
    assert f'href="{CSV}?year=2026"' in body
    assert '<option value="2026" selected>' in body


@pytest.mark.parametrize("role", ["admin", "investigator"])
def test_other_roles_are_refused(client, two_tenants, role):
    client.force_login(getattr(two_tenants.a, role))
    assert client.get(PAGE).status_code == 403
    assert client.get(CSV).status_code == 403


def test_another_tenants_member_gets_404(client, two_tenants):
    client.force_login(two_tenants.b.owner)
    assert client.get(PAGE).status_code == 404 and client.get(CSV).status_code == 404


def test_the_dashboard_and_the_compliance_page_link_to_it_for_owners_and_auditors_only(client, two_tenants):
    client.force_login(two_tenants.a.auditor)
    assert f'href="{PAGE}"' in client.get("/t/agency-a/").content.decode()
    assert f'href="{PAGE}"' in client.get("/t/agency-a/compliance/").content.decode()
    client.force_login(two_tenants.a.investigator)
    assert f'href="{PAGE}"' not in client.get("/t/agency-a/").content.decode()


def test_the_year_defaults_to_this_one(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    page = client.get(PAGE)
    assert page.status_code == 200 and page.context["report"].year == page.context["years"][0]


@pytest.mark.parametrize("year, message", [("twenty", "The year is a number such as"),
                                           ("1999", "The year must be from 2000 to"),
                                           ("3000", "The year must be from 2000 to")])
def test_a_bad_year_is_a_clear_400(client, two_tenants, year, message):
    client.force_login(two_tenants.a.owner)
    page = client.get(PAGE, {"year": year})
    assert page.status_code == 400 and message in page.content.decode()
    assert 'role="alert"' in page.content.decode()
    download = client.get(CSV, {"year": year})
    assert download.status_code == 400 and message in download.content.decode()


def test_the_csv_says_what_the_page_says(client, yearly_world):
    a = yearly_world.two_tenants.a
    client.force_login(a.auditor)
    page = client.get(PAGE, {"year": "2026"})
    download = client.get(CSV, {"year": "2026"})
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert 'filename="yearly-report-agency-a-2026.csv"' in download["Content-Disposition"]
    page_data = report_data(page.context["report"])
    figures = {key: page_data[key] for key in ("searches", "matches", "urgent_searches", "evidence_pack_exports")}
    assert _csv_figures(download.content.decode()) == figures


def test_one_tenants_page_never_shows_the_others(client, yearly_world):
    b = yearly_world.two_tenants.b
    client.force_login(b.owner)
    page = client.get("/t/retailer-b/reports/yearly/", {"year": "2026"})
    assert report_figures(report_data(page.context["report"])) == yearly_world.expected_b
    assert "Missing person" not in page.content.decode()
    assert "Missing person" not in client.get("/t/retailer-b/reports/yearly.csv", {"year": "2026"}).content.decode()

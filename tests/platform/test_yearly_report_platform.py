"""The platform's yearly report page and CSV (portal/platform/report_views.py): a row per tenant
and the totals, the same as the service and the platform API; operators only; 400 for a bad year."""

import csv
import io

import pytest

from portal.platform.models import SealedTOTPDevice
from tests.factories import totp_token

pytestmark = pytest.mark.django_db

PAGE, CSV = "/platform/reports/yearly/", "/platform/reports/yearly.csv"


@pytest.fixture
def staff_client(client, user_factory):
    operator = user_factory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    client.force_login(operator)
    assert client.post("/platform/2fa/verify/", {"token": totp_token(device), "next": "/platform/"}).status_code == 302
    return client


def test_a_row_per_tenant_and_the_totals(staff_client, yearly_world):
    page = staff_client.get(PAGE, {"year": "2026"})
    assert page.status_code == 200
    report = page.context["report"]
    assert [row.tenant.slug for row in report.rows] == ["agency-a", "retailer-b"]
    assert report.totals.searches == 8 and report.totals.matches_confirmed == 2 and report.totals.exports["total"] == 3
    body = page.content.decode()
    assert "Yearly report 2026, all tenants" in body and "All tenants" in body and body.count('<svg class="chart"') == 2
    assert f'href="{CSV}?year=2026"' in body


def test_the_csv_has_each_tenants_lines_and_the_totals(staff_client, yearly_world):
    download = staff_client.get(CSV, {"year": "2026"})
    assert download.status_code == 200 and 'filename="yearly-report-all-tenants-2026.csv"' in download[
        "Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    searches = {r["tenant"]: int(r["value"]) for r in rows if (r["section"], r["item"]) == ("searches", "total")}
    assert searches == {"agency-a": 6, "retailer-b": 2, "all": 8}
    purposes = {(r["tenant"], r["item"]): int(r["value"]) for r in rows if r["section"] == "searches.by_purpose"}
    assert purposes[("all", "Missing person")] == 3 and purposes[("retailer-b", "Shoplifting")] == 2
    page = staff_client.get(PAGE, {"year": "2026"}).context["report"]
    confirmed = {r["tenant"]: int(r["value"]) for r in rows if (r["section"], r["item"]) == ("matches", "confirmed")}
    assert confirmed == {**{row.tenant.slug: row.figures.matches_confirmed for row in page.rows},
                         "all": page.totals.matches_confirmed}


@pytest.mark.parametrize("year", ["x", "1999", "2999"])
def test_a_bad_year_is_a_clear_400(staff_client, year):
    page = staff_client.get(PAGE, {"year": year})
    assert page.status_code == 400 and "The year" in page.content.decode()
    assert staff_client.get(CSV, {"year": year}).status_code == 400


def test_tenant_members_get_404(client, two_tenants):
    client.force_login(two_tenants.a.owner)
    assert client.get(PAGE).status_code == 404 and client.get(CSV).status_code == 404

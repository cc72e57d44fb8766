"""Accessibility: axe-core (pinned in tests/e2e/axe-core.pin, installed by scripts/install-axe)
runs on every page of the portal for each role, of the platform area and the public pages, at the
desktop and the phone width, in English and in French; any serious or critical violation fails.

axe goes into the page through Playwright's evaluate (the DevTools protocol), which the portal's
Content-Security-Policy does not govern: the policy stays as strict as it is for a visitor.

The language is chosen as a visitor's browser does (Accept-Language) and as the language switch
does (the `django_language` cookie). Until the French translation lands, the French run renders
English and checks the same pages again; from then on it checks the French pages with no change
here. Logging in and the two-factor step use the fields' names, not their labels, so that they
work in either language.
"""

import pytest

from portal.rights.services import request_submit
from portal.audit.services import Actor
from portal.compliance.enforcement import order_enforce
from portal.compliance.models import OptOut, RegulatoryOrder
from portal.compliance.opt_outs import opt_out_create
from portal.compliance.orders import order_activate, order_create
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from portal.platform.models import SealedTOTPDevice
from portal.search.services import search_run
from tests.builders import AUTHORISED, order_fields, reviewers_allow
from tests.e2e.conftest import DESKTOP, MOBILE
from tests.factories import UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FAILING_IMPACTS = {"serious", "critical"}


def _world(two_tenants, faces_dir):
    """A gallery with subjects and pictures, a search with leads, a draft and a verified order,
    and a public opt-out awaiting review: every page has something on it."""
    a = two_tenants.a
    system = Actor.system("accessibility")
    subject = None
    for filename, label in (("obama_1.jpg", "Barack Obama"), ("biden_1.jpg", "Joe Biden")):
        subject = subject_create(tenant=a.tenant, label=label, reference="BK-1", actor=system)
        subject_enrol(tenant=a.tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=system,
                      legal_basis=LegalBasis.LAW_ENFORCEMENT, region="GB")
    image_ingest(tenant=None, data=(faces_dir / "obama_3.jpg").read_bytes(), actor=system,
                 legal_basis=LegalBasis.PUBLIC_RECORD, source_url="https://news.example.org/a.jpg", region="US")
    reviewers_allow(tenant=a.tenant, users=[a.owner, a.admin])
    search = search_run(tenant=a.tenant, actor=Actor.of_user(a.investigator),
                        probe=(faces_dir / "obama_2.jpg").read_bytes(), case_reference="CASE-1",
                        purpose="Robbery at the station", authorisation=AUTHORISED)
    draft = order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["DE"], reference="DRAFT-1"))
    done = order_activate(order=order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["US"],
                                                            reference="DONE-1")), actor=system)
    done = order_enforce(order=done)
    opt_out = opt_out_create(pictures=[(faces_dir / "kit_harington_1.jpg").read_bytes()],
                             contact="person@example.test", consent=True, channel=OptOut.Channel.PUBLIC_FORM,
                             actor=system, region="FR")
    request = request_submit(kind="erasure", email="person@example.test", consent=True, actor=system,
                             picture=(faces_dir / "obama_1.jpg").read_bytes(),
                             document=(faces_dir / "obama_4.jpg").read_bytes(), confirm_url=str, status_url=str).request
    return {"search": search, "subject": subject, "draft": draft, "done": done, "opt_out": opt_out,
            "request": request}


def _context(chromium, base: str, language: str):
    context = chromium.new_context(viewport=DESKTOP, locale=language,
                                   extra_http_headers={"Accept-Language": f"{language},en;q=0.5"})
    context.add_cookies([{"name": "django_language", "value": language, "url": base}])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def _log_in(page, base: str, email: str) -> None:
    from tests.factories import TEST_PASSWORD

    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.locator("input[name=password]").press("Enter")


def _axe(page, axe_source: str, where: str) -> list[str]:
    """axe on the page as it is, with every disclosure (<details>) opened so that the forms in
    them are checked too. Returns one line per serious or critical violation."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        found.append(f"{where}: [{violation['impact']}] {violation['id']}: {violation['help']} -> {targets}")
    return found


def _check(page, axe_source: str, url: str, label: str, problems: list[str]) -> None:
    response = page.goto(url)
    assert response.status == 200, f"{label}: {url} answered {response.status}"
    page.wait_for_load_state("networkidle")
    for width, viewport in (("1280", DESKTOP), ("390", MOBILE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(100)
        problems.extend(_axe(page, axe_source, f"{label} {url.split('//', 1)[1].split('/', 1)[1]} @{width}px"))
    page.set_viewport_size(DESKTOP)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_no_serious_or_critical_violation_on_any_page(live_server, chromium, axe_source, two_tenants, faces_dir,
                                                      language):
    world = _world(two_tenants, faces_dir)
    base, a = live_server.url, two_tenants.a
    t = f"{base}/t/agency-a"
    search, subject = world["search"].public_id, world["subject"].public_id
    problems: list[str] = []

    public = _context(chromium, base, language)
    for url in (f"{base}/accounts/login/", f"{base}/accounts/password_reset/", f"{base}/opt-out/"):
        _check(public, axe_source, url, f"{language} visitor", problems)
    public.context.close()

    portal_pages = {
        "owner": (a.owner, ["/", "/search/", "/searches/", f"/searches/{search}/", "/subjects/", f"/subjects/{subject}/",
                            "/admin/members/", "/admin/api-keys/", "/admin/settings/", "/compliance/", "/audit/",
                            "/reports/yearly/", "/requests/"]),
        "investigator": (a.investigator, ["/", "/search/", "/searches/", f"/searches/{search}/", "/subjects/",
                                          f"/subjects/{subject}/"]),
        # The admin may review (reviewers_allow): the search page shows them the verdict forms.
        "reviewer": (a.admin, ["/", "/searches/", f"/searches/{search}/"]),
    }
    for role, (user, paths) in portal_pages.items():
        page = _context(chromium, base, language)
        _log_in(page, base, user.email)
        for path in paths:
            _check(page, axe_source, f"{t}{path}", f"{language} {role}", problems)
        if role == "owner":
            _check(page, axe_source, f"{base}/accounts/password_change/", f"{language} {role}", problems)
        page.context.close()

    operator = UserFactory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page = _context(chromium, base, language)
    _log_in(page, base, operator.email)
    _check(page, axe_source, f"{base}/platform/2fa/verify/", f"{language} operator", problems)
    page.locator("input[name=token]").fill(totp_token(device))
    with page.expect_navigation():
        page.locator("input[name=token]").press("Enter")
    draft, done, opt_out = world["draft"].pk, world["done"].pk, world["opt_out"].pk
    for path in ["/", "/operators/", "/tenants/", f"/tenants/{a.tenant.pk}/", "/orders/", "/orders/new/",
                 f"/orders/{draft}/", f"/orders/{done}/", f"/orders/{done}/certificate/", "/opt-outs/",
                 f"/opt-outs/{opt_out}/", "/requests/", f"/requests/{world['request'].pk}/", "/audit/", "/search-floors/", "/reports/yearly/", "/2fa/backup-codes/"]:
        _check(page, axe_source, f"{base}/platform{path}", f"{language} operator", problems)
    page.context.close()

    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)

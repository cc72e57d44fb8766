"""Keyboard alone, in a real browser: a search, a review and an order activation, each from the
log-in form on, with page.keyboard only (no click, no fill, no focus() from the test). Each step
Tabs to its control and checks that the control shows where the focus is (an outline), as a
sighted keyboard user needs; the file chooser opens from the keyboard, as the browser's own does."""

import re

import pytest
from playwright.sync_api import expect

from portal.audit.services import Actor
from portal.compliance.models import RegulatoryOrder
from portal.compliance.orders import order_create
from portal.gallery.models import LegalBasis
from portal.gallery.services import image_ingest, subject_create, subject_enrol
from portal.platform import views as platform_views
from portal.platform.models import SealedTOTPDevice
from portal.search.models import MatchReview, Search
from portal.search.services import search_run
from tenants.context import dangerously_unscoped
from tests.builders import AUTHORISED, order_fields, reviewers_allow
from tests.e2e.conftest import DESKTOP, shoot
from tests.factories import TEST_PASSWORD, UserFactory, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

_FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const label = el.labels && el.labels[0] ? el.labels[0].innerText : '';
    return {tag: el.tagName.toLowerCase(), type: el.type || '', name: el.name || '', id: el.id || '',
            text: (el.innerText || el.value || '').trim().slice(0, 80), label: label.trim(),
            href: el.getAttribute('href') || '',
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0};
}"""


def _tab_to(page, matches, *, limit: int = 80, backwards: bool = False) -> dict:
    """Presses Tab (or Shift+Tab) until the focused element satisfies `matches`; returns it."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(_FOCUSED)
        seen.append(focused)
        if focused and matches(focused):
            return focused
    raise AssertionError(f"never reached by Tab; focus went through: {seen}")


def _visible_focus(focused: dict) -> dict:
    assert focused["outline"], f"no visible focus on {focused}"
    return focused


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    # The e-mail field has the focus on arrival (autofocus).
    assert page.evaluate(_FOCUSED)["name"] == "username"
    page.keyboard.type(email)
    _tab_to(page, lambda f: f["name"] == "password")
    page.keyboard.type(TEST_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _new_page(chromium):
    page = chromium.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(30_000)
    return page


def _enrol(tenant, faces_dir, filename, label):
    actor = Actor.system("keyboard set-up")
    subject = subject_create(tenant=tenant, label=label, actor=actor)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / filename).read_bytes(), actor=actor,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT)


def test_a_search_by_keyboard_alone(live_server, chromium, two_tenants, faces_dir):
    a = two_tenants.a
    _enrol(a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    page, base = _new_page(chromium), live_server.url
    _log_in(page, base, a.investigator.email)

    # The first Tab is the skip link; then on through the navigation to "Search".
    first = _tab_to(page, lambda f: True)
    assert first["href"] == "#main" and _visible_focus(first)
    _visible_focus(_tab_to(page, lambda f: f["tag"] == "a" and f["href"].endswith("/t/agency-a/search/")))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The picture: Tab to the file field, open the chooser with the keyboard, pick the file.
    _visible_focus(_tab_to(page, lambda f: f["type"] == "file"))
    # Its drop zone lights up too (focus-within), once its short transition has run.
    page.wait_for_timeout(300)
    assert page.evaluate("() => getComputedStyle(document.querySelector('[data-dropzone]')).borderColor") \
        == "rgb(31, 95, 191)"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(faces_dir / "obama_2.jpg"))
    expect(page.locator("#picture-status")).to_contain_text("One face found")

    _visible_focus(_tab_to(page, lambda f: f["name"] == "case_reference"))
    page.keyboard.type("CASE-KEY-1")
    _tab_to(page, lambda f: f["name"] == "purpose")
    page.keyboard.type("Robbery at the station, by keyboard")
    _tab_to(page, lambda f: f["name"] == "authorisation_authority")
    page.keyboard.type("Crown Court")
    _tab_to(page, lambda f: f["name"] == "authorisation_reference")
    page.keyboard.type("AUTH-1")
    _tab_to(page, lambda f: f["name"] == "authorisation_date")
    page.keyboard.type("01052026")  # month, day, year in the date field's own keyboard entry
    assert page.evaluate("() => document.activeElement.value") == "2026-01-05"
    _visible_focus(_tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Search"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/t/agency-a/searches/[0-9a-f-]{36}/$"))

    # The results: the skip link leads past the navigation into them.
    page.wait_for_load_state("networkidle")
    assert _tab_to(page, lambda f: True)["href"] == "#main"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)"), \
        "the skip link did not lead into the page's content"
    lead = _tab_to(page, lambda f: "Give your verdict" in f["text"] or "Evidence pack" in f["text"])
    _visible_focus(lead)
    expect(page.locator("section[aria-labelledby=leads-title] .match").first).to_contain_text("Barack Obama")
    with dangerously_unscoped(reason="test"):
        search = Search.objects.get(case_reference="CASE-KEY-1")
        assert search.actor_user_id == a.investigator.pk and search.matches.exists()


def test_a_review_by_keyboard_alone(live_server, chromium, two_tenants, faces_dir):
    a = two_tenants.a
    _enrol(a.tenant, faces_dir, "obama_1.jpg", "Barack Obama")
    reviewers_allow(tenant=a.tenant, users=[a.owner])
    search = search_run(tenant=a.tenant, actor=Actor.of_user(a.investigator),
                        probe=(faces_dir / "obama_2.jpg").read_bytes(), case_reference="CASE-KEY-2",
                        purpose="Robbery", authorisation=AUTHORISED)
    page, base = _new_page(chromium), live_server.url
    _log_in(page, base, a.owner.email)
    # To the search through the history page's link, all by keyboard.
    _tab_to(page, lambda f: f["tag"] == "a" and f["href"].endswith("/t/agency-a/searches/"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _visible_focus(_tab_to(page, lambda f: f["tag"] == "a" and str(search.public_id) in f["href"]))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    _visible_focus(_tab_to(page, lambda f: f["tag"] == "summary" and "Give your verdict" in f["text"]))
    page.keyboard.press("Enter")  # opens the verdict form
    radio = _visible_focus(_tab_to(page, lambda f: f["type"] == "radio"))
    assert radio["name"] == "verdict"
    # Arrow keys move along the radio group to "Confirmed" (whatever its place).
    for _ in range(3):
        if page.evaluate("() => document.activeElement.value") == "confirmed":
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert page.evaluate("() => document.activeElement.checked && document.activeElement.value") == "confirmed"
    _visible_focus(_tab_to(page, lambda f: f["tag"] == "textarea" or f["label"] == "Reason"))
    page.keyboard.type("Same ear shape and scar as the booking photo.")
    _visible_focus(_tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Record verdict"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    card = page.locator("section[aria-labelledby=leads-title] .match").first
    expect(card.locator(".verdicts")).to_contain_text(a.owner.email)
    with dangerously_unscoped(reason="test"):
        review = MatchReview.objects.get(match__search=search)
        assert (review.verdict, review.reviewer_id) == ("confirmed", a.owner.pk)


def test_an_order_activation_by_keyboard_alone(live_server, chromium, two_tenants, faces_dir, monkeypatch):
    image_ingest(tenant=two_tenants.a.tenant, data=(faces_dir / "obama_1.jpg").read_bytes(),
                 actor=Actor.system("keyboard set-up"), legal_basis=LegalBasis.LAW_ENFORCEMENT, region="FR")
    order = order_create(**order_fields(kind=RegulatoryOrder.Kind.REGIONAL, regions=["FR"], reference="SAN-KEY-7"))
    queued = []
    # Deletion itself is the worker's (tests/e2e/test_platform_browser.py runs it); here the queue is noted.
    monkeypatch.setattr(platform_views, "_enforcement_enqueue", lambda order: queued.append(order.pk))
    operator = UserFactory(is_staff=True, email="operator@portal.test")
    device = SealedTOTPDevice.objects.create(user=operator, name="platform", confirmed=True)
    page, base = _new_page(chromium), live_server.url
    _log_in(page, base, operator.email)
    page.goto(f"{base}/platform/orders/")  # typed in the address bar
    # The two-factor step first: the code field has the focus.
    _tab_to(page, lambda f: f["name"] == "token")
    page.keyboard.type(totp_token(device))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    _visible_focus(_tab_to(page, lambda f: f["tag"] == "a" and f["href"].endswith(f"/platform/orders/{order.pk}/")))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _visible_focus(_tab_to(page, lambda f: f["id"] == "confirm-reference"))
    page.keyboard.type("SAN-KEY-7")
    activate = _visible_focus(_tab_to(page, lambda f: f["tag"] == "button" and f["text"].startswith("Activate")))
    assert "start deletion" in activate["text"]
    shoot(page, "keyboard-order-activation-focus")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#order-progress .badge")).not_to_have_text("Draft")
    with dangerously_unscoped(reason="test"):
        order.refresh_from_db()
    assert order.status == RegulatoryOrder.Status.ACTIVE and queued == [order.pk]

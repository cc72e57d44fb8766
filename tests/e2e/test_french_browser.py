"""French in a real browser: the language switch (by keyboard) turns the public pages, the
customer portal and the platform area French, the choice is remembered, dates and numbers follow
French conventions, the scripts speak French, and the API answers errors in French to
`Accept-Language: fr`. Screenshots at desktop and phone widths (shoot() fails on sideways scroll,
which is how French's longer words would first show)."""

import re

import pytest
from playwright.sync_api import expect

from portal.api.services import api_key_create
from portal.audit.services import Actor
from portal.gallery.models import LegalBasis
from portal.gallery.services import subject_create, subject_enrol
from portal.platform.models import SealedTOTPDevice
from tests.e2e.conftest import shoot
from tests.factories import TEST_PASSWORD, UserFactory, enrolment_code_for, totp_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _switch_to_french(page) -> None:
    """Through the switch, by keyboard alone; the same page comes back."""
    here = page.url
    switch = page.get_by_role("button", name="Français")
    switch.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url == here


def _log_in_in_french(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Adresse électronique").fill(email)
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def test_the_portal_in_french_at_desktop_and_phone_widths(live_server, browser_page, two_tenants, faces_dir):
    tenant, actor = two_tenants.a.tenant, Actor.system("french")
    subject = subject_create(tenant=tenant, label="Barack Obama", reference="BK-1001", actor=actor)
    subject_enrol(tenant=tenant, subject=subject, data=(faces_dir / "obama_1.jpg").read_bytes(), actor=actor,
                  legal_basis=LegalBasis.LAW_ENFORCEMENT, region="GB")
    page, base = browser_page, live_server.url

    # The log-in page starts in English (the browser asks for English) and switches to French.
    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    _switch_to_french(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    expect(page.get_by_role("button", name="English")).to_be_visible()
    shoot(page, "fr-01-login")

    _log_in_in_french(page, base, two_tenants.a.owner.email)
    expect(page.get_by_role("navigation", name="Principale")).to_contain_text("Vue d'ensemble")
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    assert cookies.get("django_language") == "fr", "the choice is kept in the language cookie"
    shoot(page, "fr-02-dashboard")

    # A search, in French: the script's status line, the result page's dates and decimal commas.
    page.goto(f"{base}/t/agency-a/search/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechercher un visage")
    page.get_by_label("Image de recherche").set_input_files(str(faces_dir / "obama_2.jpg"))
    expect(page.locator("#picture-status")).to_contain_text("Un visage trouvé")
    page.get_by_label("Référence du dossier").fill("DOSSIER-2026-17")
    page.get_by_label("Finalité").fill("Identifier la personne filmée au guichet le 3 mars")
    page.get_by_label("Autorité ayant autorisé").fill("Tribunal judiciaire de Paris")
    page.get_by_label("Référence de l'autorisation").fill("AUT-1")
    page.get_by_label("Date de la décision").fill("2026-01-05")
    shoot(page, "fr-03-search")
    page.locator("[data-submit]").click()
    expect(page).to_have_url(re.compile(r"/searches/[0-9a-f-]{36}/$"))
    expect(page.locator("h1")).to_contain_text("Recherche du")
    similarity = page.locator(".match .similarity").first.inner_text()
    assert re.fullmatch(r"(Similarité\s+)?[01],\d{3}", similarity.strip()), similarity
    expect(page.locator(".match").first).to_contain_text("Piste")
    shoot(page, "fr-04-search-results")

    for path, heading, name in [
        ("searches/", "Historique des recherches", "fr-05-history"),
        ("subjects/", "Galerie", "fr-06-gallery"),
        (f"subjects/{subject.public_id}/", "Barack Obama", "fr-07-subject"),
        ("admin/members/", "Membres et rôles", "fr-08-members"),
        ("admin/api-keys/", "Clés d'API", "fr-09-api-keys"),
        ("admin/settings/", "Paramètres", "fr-10-settings"),
        ("audit/", "Journal d'audit", "fr-11-audit"),
        ("compliance/", None, "fr-12-compliance"),
        ("reports/yearly/", None, "fr-13-yearly-report"),
    ]:
        page.goto(f"{base}/t/agency-a/{path}")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        if heading:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        shoot(page, name)
    # French dates: « 3 nov. 2026 », never the English month.
    page.goto(f"{base}/t/agency-a/subjects/")
    added = page.locator(".subject-list .muted.small").first.inner_text()
    assert re.search(r"ajoutée le \d{1,2} (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? \d{4}", added), added

    # The refusal page an auditor meets on the search page, in French (the language stays with the browser).
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": base}])
    _log_in_in_french(page, base, two_tenants.a.auditor.email)
    response = page.goto(f"{base}/t/agency-a/search/")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Non autorisé")
    expect(page.get_by_role("link", name="Aller à votre page d'accueil")).to_be_visible()
    shoot(page, "fr-15-auditor-403")

    # The public opt-out form, in French too.
    page.goto(f"{base}/opt-out/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Une demande au sujet de vos images")
    shoot(page, "fr-14-public-opt-out")

    # Back to English with the same switch, remembered as well.
    _switch_to_english = page.get_by_role("button", name="English")
    _switch_to_english.focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask about your pictures")


def test_the_platform_area_in_french(live_server, browser_page, two_tenants):
    operator = UserFactory(is_staff=True, email="operator@portal.test")
    page, base = browser_page, live_server.url
    page.goto(f"{base}/accounts/login/")
    _switch_to_french(page)
    _log_in_in_french(page, base, operator.email)
    page.goto(f"{base}/platform/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Configurer la double authentification")
    page.get_by_label("Code d'enrôlement remis par un autre opérateur").fill(enrolment_code_for(operator))
    page.get_by_role("button", name="Continuer").click()
    device = SealedTOTPDevice.objects.get(user=operator, confirmed=False)
    page.get_by_label("Code à 6 chiffres de votre application d'authentification").fill(totp_token(device))
    page.get_by_role("button", name="Confirmer").click()
    page.get_by_role("link", name=re.compile("Je les ai conservés")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord de conformité")
    shoot(page, "fr-20-platform-dashboard")
    for path, heading, name in [
        ("orders/", "Injonctions réglementaires", "fr-21-platform-orders"),
        ("orders/new/", "Déposer une injonction réglementaire", "fr-22-platform-order-new"),
        ("opt-outs/", "Oppositions", "fr-23-platform-opt-outs"),
        ("tenants/", "Clients", "fr-24-platform-tenants"),
        ("audit/", "Explorateur d'audit", "fr-25-platform-audit"),
        ("search-floors/", "Planchers de recherche", "fr-26-platform-search-floors"),
        ("reports/yearly/", "Rapport annuel", "fr-27-platform-yearly-report"),
        ("operators/", "Opérateurs", "fr-28-platform-operators"),
        ("2fa/backup-codes/", "Codes de secours", "fr-29-platform-backup-codes"),
    ]:
        page.goto(f"{base}/platform/{path}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        shoot(page, name)
    # The platform's forms name their fields in French, countries included.
    page.goto(f"{base}/platform/orders/new/")
    expect(page.get_by_label("Reçue le")).to_be_visible()
    page.goto(f"{base}/platform/tenants/")
    expect(page.get_by_label("Pays d'origine").locator("option", has_text="Allemagne")).to_have_count(1)


def test_api_errors_in_french_with_accept_language(live_server, browser_page, two_tenants):
    api = browser_page.request
    base = f"{live_server.url}/api/v1"
    unknown = api.get(f"{base}/no-such-endpoint", headers={"Accept-Language": "fr"})
    assert unknown.status == 404
    assert unknown.json()["error"]["message"] == "Ce point d'accès de l'API n'existe pas."
    anonymous = api.get(f"{base}/searches", headers={"Accept-Language": "fr"})
    assert anonymous.status == 401
    assert anonymous.json()["error"]["message"] == "Envoyez une clé d'API\u00a0: «\u00a0Authorization: Api-Key <clé>\u00a0»."

    _key, raw_key = api_key_create(tenant=two_tenants.a.tenant, name="système", scopes=["audit:read"],
                                   actor=Actor.system("french"))
    headers = {"Authorization": f"Api-Key {raw_key}"}
    french = api.get(f"{base}/reports/yearly?year=1900", headers={**headers, "Accept-Language": "fr-FR,fr;q=0.9"})
    english = api.get(f"{base}/reports/yearly?year=1900", headers={**headers, "Accept-Language": "en"})
    assert french.status == english.status == 400
    assert french.json()["error"]["code"] == english.json()["error"]["code"], "codes are for machines: never translated"
    assert french.json()["error"]["message"].startswith("L'année doit être comprise entre"), french.json()
    assert english.json()["error"]["message"].startswith("The year must be from"), english.json()

"""The French translation is complete and compiled.

The catalogue is extracted afresh from a copy of the code (scripts/messages, as `make messages`
does), so a string marked in a template, in Python or in static/js without a French translation,
or whose translation is fuzzy, fails here; so does a committed .mo that is stale against its .po,
or a .po that was not refreshed after the code changed.
"""

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext as _, ngettext

ROOT = Path(__file__).resolve().parent.parent.parent
MESSAGES = ROOT / "locale" / "fr" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")
TOOLS = ("msgfmt", "xgettext", "msgmerge", "msgattrib")


@pytest.fixture(scope="module")
def gettext_tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"GNU gettext ({', '.join(missing)}) is missing: run scripts/install-gettext (as root)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _copy_of_the_code(destination: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("portal", "tenants", "templates", "locale"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=skip)
    shutil.copytree(ROOT / "static" / "js", destination / "static" / "js")
    return destination


def _refresh(tree: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "messages"), str(tree)], check=True, capture_output=True,
                   env={**os.environ, "PYTHON": sys.executable}, timeout=300)


def _entries(po: Path, *options: str) -> list[str]:
    """The msgids that msgattrib selects (without the header)."""
    out = subprocess.run(["msgattrib", "--no-wrap", "--no-obsolete", *options, str(po)], check=True,
                         capture_output=True, text=True).stdout
    return [line[len("msgid "):] for line in out.splitlines() if line.startswith("msgid ") and line != 'msgid ""']


def _catalog(mo: Path) -> dict:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


def _compiled(po: Path, into: Path) -> dict:
    mo = into / (po.stem + ".mo")
    subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True, capture_output=True)
    return _catalog(mo)


def catalogue_problems(tree: Path) -> list[str]:
    """Refreshes the catalogue of `tree` and says what is untranslated, fuzzy or stale."""
    committed = {domain: _catalog(tree / "locale/fr/LC_MESSAGES" / f"{domain}.mo") for domain in DOMAINS}
    _refresh(tree)
    problems = []
    for domain in DOMAINS:
        po = tree / "locale/fr/LC_MESSAGES" / f"{domain}.po"
        problems += [f"{domain}: no French translation for {msgid}" for msgid in _entries(po, "--untranslated")]
        problems += [f"{domain}: fuzzy (check it, then remove the flag): {msgid}" for msgid in _entries(po, "--only-fuzzy")]
        if not problems and _compiled(po, tree) != committed[domain]:
            problems.append(f"{domain}: locale/fr differs from the code's strings: run `make messages` and commit locale/")
    return problems


def test_every_marked_string_has_a_french_translation_and_the_catalogue_is_current(gettext_tools, tmp_path):
    problems = catalogue_problems(_copy_of_the_code(tmp_path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_compiled_from_the_committed_po(gettext_tools, tmp_path, domain):
    catalog = _catalog(MESSAGES / f"{domain}.mo")
    assert len(catalog) > (800 if domain == "django" else 10)
    assert _compiled(MESSAGES / f"{domain}.po", tmp_path) == catalog, (
        f"locale/fr/LC_MESSAGES/{domain}.mo is stale: run `make messages` and commit it")


def test_a_new_sentence_without_french_fails_the_check(gettext_tools, tmp_path):
    tree = _copy_of_the_code(tmp_path)
    (tree / "templates" / "portal" / "_new_feature.html").write_text(
        '{% load i18n %}<p>{% translate "A sentence nobody has translated yet" %}</p>\n')
    problems = catalogue_problems(tree)
    assert problems == ['django: no French translation for "A sentence nobody has translated yet"']


def test_french_is_what_the_portal_speaks_in_french():
    with translation.override("fr"):
        assert _("Log in") == "Se connecter"
        assert _("Not found.") == "Introuvable."
        assert ngettext("%(days)s day left", "%(days)s days left", 3) % {"days": 3} == "3 jours restants"
    with translation.override("en"):
        assert _("Log in") == "Log in"

"""Every user-visible string is marked for translation: template text (walked with Django's
Lexer) and the Python messages people read (errors, API errors, flash messages, forms, e-mails).
A new unmarked sentence fails here with its file and line."""

from pathlib import Path

import pytest

from tests.i18n.python_text import module_unmarked_strings, project_modules
from tests.i18n.template_text import template_unmarked_text

ROOT = Path(__file__).resolve().parent.parent.parent


def _templates() -> list[Path]:
    found = [*ROOT.joinpath("templates").rglob("*.html"), *ROOT.joinpath("templates").rglob("*.txt")]
    for package in ("portal", "tenants"):
        found += [path for path in ROOT.joinpath(package).rglob("templates/**/*") if path.suffix in {".html", ".txt"}]
    return sorted(found)


def test_every_template_text_is_marked_for_translation():
    templates = _templates()
    assert len(templates) > 50, "the template folders moved: this test must still find them"
    unmarked = [str(item) for path in templates
                for item in template_unmarked_text(path, name=str(path.relative_to(ROOT)))]
    assert not unmarked, "Mark these with {% translate %} or {% blocktranslate %}:\n" + "\n".join(unmarked)


def test_every_python_message_is_marked_for_translation():
    modules = project_modules(ROOT)
    assert len(modules) > 100
    unmarked = [str(item) for path in modules
                for item in module_unmarked_strings(path, name=str(path.relative_to(ROOT)))]
    assert not unmarked, "Mark these with gettext (_) or gettext_lazy, with %(name)s placeholders:\n" + "\n".join(unmarked)


@pytest.mark.parametrize("source, unmarked", [
    ('{% load i18n %}<p>Hello there</p>', ["Hello there"]),
    ('{% load i18n %}<p>{% translate "Hello there" %}</p>', []),
    ('{% load i18n %}<p>{% blocktranslate %}Hi {{ name }}{% endblocktranslate %}</p>', []),
    ('<button title="Delete it">×</button>', ['title="Delete it"']),
    ('<td data-label="{% translate \'When\' %}">{{ when }}</td>', []),
    ('<form data-confirm="Remove {{ who }}?"></form>', ['data-confirm="Remove \x00?"']),
    ('{{ name|default:"nobody" }}', ['"nobody"']),
    ('<code>API</code> 12 ms · UTC', []),
    ('<script>var hello = "world";</script><!-- a comment -->', []),
    ('{% comment %}Not shown{% endcomment %}<i class="some class"></i>', []),
])
def test_template_checker_finds_unmarked_text(tmp_path, source, unmarked):
    path = tmp_path / "sample.html"
    path.write_text(source)
    assert [item.text for item in template_unmarked_text(path)] == unmarked


@pytest.mark.parametrize("source, unmarked", [
    ('raise SearchInvalid("The purpose is too long.")', ["The purpose is too long."]),
    ('raise SearchInvalid(_("The purpose is too long."))', []),
    ('raise SearchInvalid(f"{name} requires a purpose.")', ["f' requires a purpose.'"]),
    ('messages.success(request, "Saved.")', ["Saved."]),
    ('message = f"The body is nested more than {limit} levels deep."', ["f'The body is nested more than  levels deep.'"]),
    ('form.add_error("token", "That code is not valid.")', ["That code is not valid."]),
    ('name = forms.CharField(label="Your name")', ["Your name"]),
    ('class Role(models.TextChoices):\n    OWNER = "owner", "Owner"', ["Owner"]),
    ('raise ValueError("internal: not for people")', []),
    ('class F(forms.Form):\n    received_on = forms.DateField()', ["received_on: a form field needs label="]),
    ('class F(forms.Form):\n    token = forms.CharField(widget=forms.HiddenInput)', []),
    ('logger.warning("Order %s is due", ref)', []),
])
def test_python_checker_finds_unmarked_messages(tmp_path, source, unmarked):
    path = tmp_path / "sample.py"
    path.write_text(source + "\n")
    assert [item.text for item in module_unmarked_strings(path)] == unmarked

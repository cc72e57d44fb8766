"""The few settings `scripts/messages` needs to extract and compile the translations: no database,
no services, so the catalogue refreshes on any machine with Python and GNU gettext."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "messages-only"  # noqa: S105 - nothing is signed with it
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
INSTALLED_APPS: list[str] = []

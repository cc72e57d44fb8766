"""A newcomer reads .env.example to learn what can be set: it names every variable settings read."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_env_example_lists_every_variable_settings_read_each_with_a_comment():
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', (ROOT / "portal" / "settings.py").read_text()))
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {}
    for number, line in enumerate(lines):
        match = re.match(r"(?:# )?([A-Z][A-Z0-9_]+)=", line)
        if match:
            listed[match.group(1)] = lines[number - 1]
    assert read and read == set(listed), (read - set(listed), set(listed) - read)
    assert all(previous.startswith("# ") and not re.match(r"# [A-Z_]+=", previous) for previous in listed.values())


def test_what_env_example_sets_are_the_defaults(tmp_path):
    """Copying the file to .env (as it says) must change nothing. Its values are given to a fresh
    interpreter as environment variables, which is what settings does with a .env file."""
    import os
    import subprocess
    import sys

    values = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), flags=re.M))
    environment = {name: value for name, value in os.environ.items() if name not in values}
    script = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'portal.settings'); django.setup();"
              " from django.conf import settings as s;"
              " print(s.DEBUG, s.API_RATE_LIMIT_PLATFORM, s.API_MAX_REQUEST_BYTES, s.FACE_ENGINE['max_bytes'], s.VAR_DIR)")
    defaults = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                              env=environment)
    copied = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**environment, **values})
    assert defaults.returncode == copied.returncode == 0, copied.stderr
    assert copied.stdout == defaults.stdout and copied.stdout.startswith("True 300/minute")

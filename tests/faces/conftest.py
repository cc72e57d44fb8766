import csv
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    path = Path(os.environ.get("FACES_DIR") or REPO_ROOT.parent / "shared" / "faces")
    if not (path / "manifest.csv").is_file():
        message = (
            f"Face test pictures not found at {path} (set FACES_DIR to the folder holding "
            "manifest.csv and the pictures)."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def faces_manifest(faces_dir: Path) -> list[dict[str, str]]:
    with open(faces_dir / "manifest.csv", newline="") as manifest:
        return list(csv.DictReader(manifest))

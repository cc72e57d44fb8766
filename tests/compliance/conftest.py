"""Fixtures for the compliance tests (built in builders.py)."""

from tests.compliance.builders import world_gallery  # noqa: F401

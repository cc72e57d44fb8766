"""Similarity bars drawn on the calibrated range, not from 0 to 1.

Every face pair the engine compares lands between about 0.75 and 1 (docs/compliance.md: different
people 0.766 to 0.888, the same person 0.914 to 1.000). On a bar from 0 to 1 a different person at
0.85 looked nearly as full as a lead at 0.95; from 0.70 to 1 they are half and five sixths."""

from django import template
from django.conf import settings

register = template.Library()

BAR_FROM, BAR_TO = 0.70, 1.0


@register.filter
def similarity_position(value) -> str:
    """Where a similarity sits on the bar, as a CSS percentage (clamped to the bar)."""
    try:
        share = (float(value) - BAR_FROM) / (BAR_TO - BAR_FROM)
    except (TypeError, ValueError):
        return "0"
    return f"{100 * min(max(share, 0.0), 1.0):.1f}"


@register.simple_tag
def strong_threshold() -> float:
    return settings.SEARCH_STRONG_THRESHOLD

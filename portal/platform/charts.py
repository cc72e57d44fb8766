"""Server-side SVG bar charts for the compliance dashboard: no JavaScript, no CDN."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe


def bar_chart_svg(*, rows: list[tuple[str, int]], title: str, width: int = 560, bar_height: int = 22,
                  colour: str = "#1f5fbf", value_suffix: str = "", label_width: int = 120) -> SafeString:
    """Horizontal bars, one per (label, value), labelled and scaled to the largest value. A
    narrower chart (`width`, short labels in a narrower `label_width`) stays legible on a phone."""
    gap, top = 8, 4
    # Room for the longest label (French ones run longer): about 6.5 units a character at 12px.
    label_width = max(label_width, min(width // 2, 12 + round(6.5 * max((len(label) for label, _ in rows), default=0))))
    height = top + len(rows) * (bar_height + gap) or bar_height
    largest = max((value for _, value in rows), default=0) or 1
    room = width - label_width - 70
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(title)}</title>"]
    for n, (label, value) in enumerate(rows):
        y = top + n * (bar_height + gap)
        length = max(1, round(room * value / largest)) if value else 0
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" rx="3" fill="{colour}"/>'
            f'<text x="{label_width + length + 6}" y="{y + bar_height * 0.7:.1f}" class="chart-value">'
            f"{number_format(value, force_grouping=True)}{escape(value_suffix)}</text>")
    parts.append("</svg>")
    return mark_safe("".join(parts))

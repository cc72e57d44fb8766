"""Template filters for the printable certificate, whose times are stored as ISO 8601 strings."""

from datetime import date, datetime

from django import template
from django.utils import formats

register = template.Library()


@register.filter
def when(value: str | None) -> str:
    """'2026-11-21T22:19:54.526492+00:00' -> '21 Nov 2026, 22:19:54' (in the active language's
    date format); a date stays a date; the page says UTC once. Anything else is shown as it is."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    day = formats.date_format(date(moment.year, moment.month, moment.day))
    if len(value) == 10:
        return day
    return f"{day}, {formats.time_format(moment, 'H:i:s')}"

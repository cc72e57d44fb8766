"""How an audit event's details read on the page."""

from django import template

register = template.Library()


@register.filter
def detail_value(value) -> str:
    """A list as "a, b" rather than Python's "['a', 'b']"; nothing as "—"."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "—"
    if value is None or value == "":
        return "—"
    return str(value)

"""How each language writes dates and numbers (settings.FORMAT_MODULE_PATH).

Templates use the named formats (`|date` for a day, `|date:"DATETIME_FORMAT"` for a moment,
`|time:"H:i:s"` where seconds matter) and `intcomma` / `floatformat` without the `u` suffix, so
the active language decides: 3 Nov 2026, 14:05 and 1,234.5 in English; 3 nov. 2026, 14:05 and
1 234,5 in French. Never hard-code a date format in a template or in Python.
"""

"""Days as half-open ranges of instants, for filters that take a day "from" and a day "to"."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def day_end(day: date) -> datetime:
    """The first instant after the day, for `< day_end` filters that include the whole day."""
    return day_start(day + timedelta(days=1))

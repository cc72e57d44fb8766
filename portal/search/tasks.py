"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from datetime import datetime

from portal.search import authorisations, services


@shared_task(name="search.probes_purge")
def probes_purge() -> int:
    return services.probes_purge()


@shared_task(name="search.authorisations_overdue_erase")
def authorisations_overdue_erase(now: str | None = None) -> int:
    """`now` (ISO 8601) stands in for the clock, for tests that move time forward."""
    return authorisations.authorisations_overdue_erase(now=datetime.fromisoformat(now) if now else None)

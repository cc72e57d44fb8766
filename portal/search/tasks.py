"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.search import services


@shared_task(name="search.probes_purge")
def probes_purge() -> int:
    return services.probes_purge()

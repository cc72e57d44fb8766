"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.audit import heads, services


@shared_task(name="audit.chains_anchor")
def chains_anchor() -> int | None:
    anchor = services.audit_chains_anchor()
    return anchor.position if anchor else None


@shared_task(name="audit.heads_sign")
def heads_sign() -> int:
    return heads.audit_heads_sign().pk

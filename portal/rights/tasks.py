"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.rights import answers, clock


@shared_task(name="rights.requests_deadlines_remind")
def requests_deadlines_remind() -> dict[str, list[str]]:
    return clock.requests_deadlines_remind()


@shared_task(name="rights.access_answers_expire")
def access_answers_expire() -> list[str]:
    return answers.access_answers_expire()

"""The face-search portal: a Django project. The Celery app loads with Django."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]

"""Celery tasks: thin wrappers named after the services they call."""

from celery import shared_task

from portal.gallery import maintenance


@shared_task(name="gallery.face_index_maintain")
def face_index_maintain() -> dict:
    return maintenance.face_index_maintain()


@shared_task(name="gallery.files_orphaned_delete")
def files_orphaned_delete() -> dict:
    return maintenance.files_orphaned_delete()

"""Signals the gallery sends, for apps that hold copies of gallery data elsewhere.

`faces_deleted` is sent inside the transaction that deletes faces (a tenant deleting a picture or
a subject, or an order's enforcement batch), with `face_uuids`: the public ids of the faces being
deleted. A receiver removes its own copies in the same transaction, so they go if and only if
the faces go. The REST API uses it to drop stored responses that mention those faces
(portal/api/services.py: idempotency_records_forget_faces).
"""

from django.dispatch import Signal

faces_deleted = Signal()

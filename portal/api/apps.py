from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self):
        from portal.api.services import idempotency_records_forget_faces
        from portal.gallery.signals import faces_deleted

        faces_deleted.connect(idempotency_records_forget_faces, dispatch_uid="api.idempotency_records_forget_faces")

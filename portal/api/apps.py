from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self):
        from portal.api import services
        from portal.gallery import signals
        from portal.search import signals as search_signals

        signals.faces_deleted.connect(services.idempotency_records_forget_faces,
                                      dispatch_uid="api.idempotency_records_forget_faces")
        signals.gallery_erased.connect(services.idempotency_records_forget_tenants,
                                       dispatch_uid="api.idempotency_records_forget_tenants")
        signals.copies_dangling_count.connect(services.idempotency_records_dangling_count,
                                              dispatch_uid="api.idempotency_records_dangling_count")
        search_signals.search_results_erased.connect(services.idempotency_records_forget_searches,
                                                     dispatch_uid="api.idempotency_records_forget_searches")

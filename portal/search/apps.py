from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "portal.search"
    label = "search"
    verbose_name = "Searches"

    def ready(self):
        from portal.gallery import signals
        from portal.search import recalls

        signals.faces_deleted.connect(recalls.recall_on_faces_deleted, dispatch_uid="search.recall_on_faces_deleted")
        signals.faces_restricted.connect(recalls.recall_on_faces_restricted,
                                         dispatch_uid="search.recall_on_faces_restricted")
        signals.gallery_erased.connect(recalls.recalls_forget_tenants, dispatch_uid="search.recalls_forget_tenants")

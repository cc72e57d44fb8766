from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "portal.gallery"
    label = "gallery"
    verbose_name = "Galleries"

    def ready(self):
        from django.db.backends.signals import connection_created

        from portal.gallery import checks  # noqa: F401  (registers the gate check)
        from portal.runtime.database import pgvector_adapters_register

        # Embeddings go to raw queries through pgvector's own adapter (NumPy arrays as parameters).
        connection_created.connect(pgvector_adapters_register, dispatch_uid="gallery.pgvector_adapters")

from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "portal.gallery"
    label = "gallery"
    verbose_name = "Galleries"

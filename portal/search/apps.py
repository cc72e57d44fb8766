from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "portal.search"
    label = "search"
    verbose_name = "Searches"

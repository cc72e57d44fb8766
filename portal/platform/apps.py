from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The operator's console: /platform/ pages, two-factor log-in, staff API tokens, and the
    public opt-out page the operator runs. It renders; the rules live in compliance and tenants."""

    name = "portal.platform"
    label = "platform"
    verbose_name = "Platform console"

from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "portal.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        from portal.compliance.gates import gates_register

        gates_register()

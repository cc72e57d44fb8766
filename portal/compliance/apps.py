from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "portal.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from portal.compliance import signals
        from portal.compliance.services import (opt_out_result_filter, order_ingest_gate, order_result_filter,
                                                order_search_exclusion)
        from portal.gallery.gates import register_ingest_gate, register_result_filter, register_search_exclusion

        register_ingest_gate(order_ingest_gate)
        register_search_exclusion(order_search_exclusion)
        register_result_filter(opt_out_result_filter)
        register_result_filter(order_result_filter)
        user_logged_in.connect(signals.login_audit, dispatch_uid="compliance.login_audit")
        user_logged_out.connect(signals.logout_audit, dispatch_uid="compliance.logout_audit")
        user_login_failed.connect(signals.login_failed_audit, dispatch_uid="compliance.login_failed_audit")

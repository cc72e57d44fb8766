from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The base layer every other app writes its audit records to. It imports no other portal app
    (tests/test_layering.py holds it to that)."""

    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit chain"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from portal.audit import signals

        user_logged_in.connect(signals.login_audit, dispatch_uid="audit.login_audit")
        user_logged_out.connect(signals.logout_audit, dispatch_uid="audit.logout_audit")
        user_login_failed.connect(signals.login_failed_audit, dispatch_uid="audit.login_failed_audit")

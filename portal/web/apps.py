from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "portal.web"
    label = "web"
    verbose_name = "Browser pages"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from portal.web.accounts.sessions import session_forget, session_start

        # Every log-in is a listed session (the account page); logging out removes it.
        user_logged_in.connect(lambda sender, request, user, **kw: request is not None and hasattr(
            request, "session") and session_start(request=request, user=user), weak=False,
            dispatch_uid="portal.web.session_start")
        user_logged_out.connect(lambda sender, request, user, **kw: request is not None and hasattr(
            request, "session") and session_forget(request=request), weak=False,
            dispatch_uid="portal.web.session_forget")

"""Account pages that need more than Django's own views: the password reset form is public and
sends e-mail, so it is rate-limited like the other public form (portal/public_limits.py); its
links are bound to the credential stamp, not to the password hash (tenants.credentials)."""

from django.contrib.auth import views as auth_views
from django.shortcuts import render

from portal.public_limits import public_form_limited
from tenants.credentials import password_reset_tokens


class LimitedPasswordResetView(auth_views.PasswordResetView):
    token_generator = password_reset_tokens

    def post(self, request, *args, **kwargs):
        if public_form_limited(request, form="password-reset"):
            return render(request, self.template_name, {"form": self.get_form_class()(), "limited": True},
                          status=429)
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    token_generator = password_reset_tokens

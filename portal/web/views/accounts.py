"""Account pages that need more than Django's own views: the password reset form is public and
sends e-mail, so it is rate-limited like the other public form (portal/public_limits.py); its
links are bound to the credential stamp, not to the password hash (tenants.credentials)."""

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import render

from portal.audit.services import audit_record
from portal.web.accounts.sessions import session_current
from portal.web.views.common import actor_of
from tenants.models import UserSession

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

    def form_valid(self, form):
        form.user.password_change_required = False  # chosen by the person: no longer a printed one
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view, plus: the printed-password flag is cleared (the gate lets the person go on),
    the other browsers' session rows go (their sessions ended with the credential stamp anyway),
    and the change is audited."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "forced": self.request.user.password_change_required}

    def form_valid(self, form):
        user = self.request.user
        with transaction.atomic():
            forced = user.password_change_required
            user.password_change_required = False
            response = super().form_valid(form)  # saves the password (and the flag) and keeps this session
            current = session_current(request=self.request)
            UserSession.objects.filter(user=user).exclude(pk=getattr(current, "pk", None)).delete()
            audit_record(action="auth.password_change", actor=actor_of(self.request), target_type="user",
                         target_id=user.pk, details={"printed_password_replaced": forced})
        return response

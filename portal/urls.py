from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from portal.platform import proof_views
from portal.web import urls as web_urls
from portal.web.views import account, accounts, dashboard, invitations

urlpatterns = [
    path("", dashboard.home, name="home"),
    # Browsers and the API docs ask for /favicon.ico; the portal's own icon, never a 404.
    # (static() at request time: in production it reads collectstatic's manifest.)
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.svg"))),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/password_reset/", accounts.LimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/reset/<uidb64>/<token>/", accounts.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password_change/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/", account.account, name="account"),
    path("accounts/sessions/<uuid:session_id>/end/", account.session_end, name="account_session_end"),
    path("accounts/sessions/end-others/", account.sessions_end_others, name="account_sessions_end_others"),
    path("accounts/two-factor/", account.two_factor_setup, name="account_two_factor"),
    path("accounts/two-factor/verify/", account.two_factor_verify, name="account_two_factor_verify"),
    path("accounts/two-factor/remove/", account.two_factor_remove, name="account_two_factor_remove"),
    path("accounts/", include("django.contrib.auth.urls")),
    # POST /i18n/setlang/ (the language switch of every layout).
    path("i18n/", include("django.conf.urls.i18n")),
    # The translations of the scripts' few sentences (static/js), as gettext() in the browser.
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("invitations/<str:token>/", invitations.invitation_accept, name="invitation_accept"),
    path("t/<slug:tenant_slug>/", include(web_urls.tenant_urlpatterns)),
    path("platform/", include("portal.platform.urls")),
    path("opt-out/", include("portal.platform.public_urls")),
    # Public, no log-in: what anyone needs to check our signed certificates and audit heads.
    path(".well-known/portal-signing-keys.json", proof_views.well_known_signing_keys, name="well_known_signing_keys"),
    path(".well-known/portal-audit-heads.json", proof_views.well_known_audit_heads, name="well_known_audit_heads"),
    # Before the tenant API, whose catch-all answers everything else under /api/v1/.
    path("api/v1/platform/", include("portal.api.platform_urls")),
    path("api/v1/", include("portal.api.urls")),
]

"""Where a user is signed in, and signing out of the other places.

Sessions live in the cache (SESSION_ENGINE), which cannot list a user's sessions, so each log-in
also makes a `UserSession` row: the session keeps a random token, the row only its hash (SQL run
as the application learns nothing it could put in a cookie). Deleting the row signs that browser
out: on its next request the account gate (gate.py) finds no row and ends the session."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit.services import Actor, audit_record
from tenants.models import UserSession

SESSION_TOKEN = "portal_session_token"
# last_seen_at is written at most this often per browser, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_start(*, request, user) -> UserSession:
    token = secrets.token_urlsafe(32)
    request.session[SESSION_TOKEN] = token
    return UserSession.objects.create(
        user=user, token_hash=_token_hash(token), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        ip_address=request.META.get("REMOTE_ADDR") or None)


def session_current(*, request) -> UserSession | None:
    token = request.session.get(SESSION_TOKEN)
    if not token:
        return None
    return UserSession.objects.filter(token_hash=_token_hash(token), user=request.user).first()


def session_touch(*, request, session: UserSession) -> None:
    now = timezone.now()
    ip_address = request.META.get("REMOTE_ADDR") or None
    if now - session.last_seen_at >= TOUCH_EVERY or session.ip_address != ip_address:
        UserSession.objects.filter(pk=session.pk).update(last_seen_at=now, ip_address=ip_address)


def session_forget(*, request) -> None:
    """The browser signs out: its row goes with it."""
    token = request.session.get(SESSION_TOKEN)
    if token:
        UserSession.objects.filter(token_hash=_token_hash(token)).delete()


def sessions_of(*, user) -> list[UserSession]:
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.browser = browser_label(session.user_agent)
    return sessions


# Most specific first: Edge's and Opera's user agents also name Chrome, Chrome's names Safari.
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Chrome (headless)"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def browser_label(user_agent: str) -> str:
    """"Firefox on Windows": enough to recognise one's own browsers; the full text is kept too."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or (user_agent[:60] if user_agent else _("Unknown browser"))


def session_end(*, user, public_id, actor: Actor) -> UserSession:
    """Signs the user out of one of their own browsers. Another user's session, or none, raises
    UserSession.DoesNotExist: the same answer for both."""
    with transaction.atomic():
        session = UserSession.objects.select_for_update().get(user=user, public_id=public_id)
        session.delete()
        audit_record(action="auth.session_end", actor=actor, target_type="user", target_id=user.pk,
                     details={"session": str(public_id), "user_agent": session.user_agent})
    return session


def sessions_end_others(*, request, actor: Actor) -> int:
    """Signs the user out everywhere but in this browser; returns how many sessions ended."""
    current = session_current(request=request)
    others = UserSession.objects.filter(user=request.user)
    if current is not None:
        others = others.exclude(pk=current.pk)
    with transaction.atomic():
        ended, _ = others.delete()
        audit_record(action="auth.sessions_end_others", actor=actor, target_type="user",
                     target_id=request.user.pk, details={"sessions": ended})
    return ended

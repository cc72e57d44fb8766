"""Log-ins, log-outs and failed log-ins go into the audit chain (connected in AuditConfig.ready())."""

from portal.audit.services import Actor, audit_record


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def login_audit(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=Actor.of_user(user, ip_address=_ip(request)),
                 target_type="user", target_id=user.pk, details={"staff": user.is_staff})


def logout_audit(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.logout", actor=Actor.of_user(user, ip_address=_ip(request)),
                     target_type="user", target_id=user.pk)


def login_failed_audit(sender, credentials, request=None, **kwargs):
    # Only the name tried: the cleansed credentials still must not reach the log.
    username = str(credentials.get("username") or credentials.get("email") or "")[:200]
    audit_record(action="auth.login_failed", actor=Actor(label=f"anonymous ({username})", ip_address=_ip(request)),
                 target_type="user", details={"username": username})

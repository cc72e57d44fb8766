"""How often anonymous callers may use the public forms (the opt-out request, which runs face
detection, and the password reset, which sends e-mail). Counted in the cache by django-ratelimit,
a maintained library, per address and for everyone together, so that neither one address nor a
crowd of them can make the portal detect faces or send mail without limit.

Behind a reverse proxy, REMOTE_ADDR must be the client's address (the proxy sets it), or every
caller shares the proxy's budget.
"""

from django.conf import settings
from django_ratelimit.core import is_ratelimited


def _everyone(group, request) -> str:
    return "everyone"


def public_form_limited(request, *, form: str) -> bool:
    """Counts this POST of a public form and says whether it is over a limit (then refuse it)."""
    per_address = is_ratelimited(request, group=f"public:{form}", key="ip", rate=settings.PUBLIC_FORM_RATE_PER_ADDRESS,
                                 method="POST", increment=True)
    overall = is_ratelimited(request, group=f"public-all:{form}", key=_everyone,
                             rate=settings.PUBLIC_FORM_RATE_TOTAL, method="POST", increment=True)
    return per_address or overall

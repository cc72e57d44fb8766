"""Rate limits per API key and per tenant, and per operator on the platform API: fixed windows
counted in the cache (Redis).

A fixed window is one atomic increment per request; its answer to "when may I retry" is exact
(the end of the window), which is what Retry-After reports.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from portal.api.selectors import tenant_rate_limits

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
            "d": 86400, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """"120/minute" -> (120, 60)."""
    count, _, period = rate.strip().partition("/")
    try:
        requests = int(count)
    except ValueError:
        requests = -1
    seconds = _PERIODS.get(period.strip().lower())
    if requests < 1 or seconds is None:
        raise ValueError(f'Rate {rate!r} is not "N/second", "N/minute", "N/hour" or "N/day".')
    return requests, seconds


def _window_count(*, bucket: str, limit: int, period: int) -> float | None:
    """Counts a request in the current window. Returns None if allowed, else seconds to wait."""
    now = time.time()
    window = int(now // period)
    key = f"api-rate:{bucket}:{period}:{window}"
    cache.add(key, 0, timeout=period + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # the window's counter expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        count = 1
    if count <= limit:
        return None
    return max(1.0, math.ceil((window + 1) * period - now))


class _ScopedRateThrottle(BaseThrottle):
    """Needs request.auth to be an ApiKey and the tenant in scope (TenantApiView runs it there)."""

    def allow_request(self, request, view) -> bool:
        api_key = request.auth
        per_key, per_tenant = tenant_rate_limits(tenant=api_key.tenant)
        rate = self.rate_choose(per_key=per_key, per_tenant=per_tenant)
        limit, period = rate_parse(rate)
        self._wait = _window_count(bucket=self.bucket(api_key), limit=limit, period=period)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class ApiKeyRateThrottle(_ScopedRateThrottle):
    def rate_choose(self, *, per_key: str, per_tenant: str) -> str:
        return per_key

    def bucket(self, api_key) -> str:
        return f"key:{api_key.pk}"


class TenantRateThrottle(_ScopedRateThrottle):
    def rate_choose(self, *, per_key: str, per_tenant: str) -> str:
        return per_tenant

    def bucket(self, api_key) -> str:
        return f"tenant:{api_key.tenant_id}"


class PlatformCallerRateThrottle(BaseThrottle):
    """One operator's calls to the platform API (API_RATE_LIMIT_PLATFORM), by token or session."""

    def allow_request(self, request, view) -> bool:
        limit, period = rate_parse(settings.API_RATE_LIMIT_PLATFORM)
        self._wait = _window_count(bucket=f"operator:{request.user.pk}", limit=limit, period=period)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait

"""Rate limits for public forms and code checks, per address and per key (the login name,
the e-mail, the account), counted in Django's cache (Redis in production) through
django-ratelimit. A limit answers with a clear page (``render_throttled``), never a crash."""

import hashlib
import logging
import time
from datetime import timedelta

from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import get_usage

from accounts.models import SecurityEvent
from accounts.security_log import record_security_event
from portal.breaker import CircuitOpen
from portal.net import client_ip

logger = logging.getLogger(__name__)

# scope -> [(what is counted, rate)]. Rates are generous for people, tight for scripts; a whole
# school behind one address stays well under the per-address numbers.
LIMITS = {
    "sign-in": [("ip", "300/15m")],
    "verify-resend": [("ip", "30/h"), ("key", "5/h")],
    "password-forgot": [("ip", "30/h"), ("key", "5/h")],
    "password-code": [("ip", "60/h"), ("key", "15/h")],
    "password-resend": [("ip", "60/h"), ("key", "10/h")],
    "account-lookup": [("ip", "30/h"), ("key", "5/h")],
    "holder-lookup": [("ip", "30/h")],
    "main-account-apply": [("ip", "10/h"), ("key", "3/h")],
    # 申請子帳號: a school's teachers all ask on the first days of the term, from one address.
    "sub-account-apply": [("ip", "100/h"), ("key", "5/h")],
    "password-change": [("key", "10/h")],
    "email-change": [("key", "5/h")],
    "two-factor": [("key", "20/h")],
    "two-factor-sign-in": [("key", "30/15m")],
    # Each play runs the speech program: a person replays a few times, a script is capped.
    "captcha-audio": [("ip", "300/h")],
}


def address_throttled(request, scope: str) -> bool:
    """Count this request against the scope's per-address limits. Public forms call this
    only for a well-formed submission (captcha passed, every field well-formed): a wrong
    captcha or a typo must not use up the allowance of a whole school behind one address.
    The address is the one the security log records (``client_ip``)."""
    return _count(request, scope, "ip", client_ip(request) or "unknown")


def key_throttled(request, scope: str, key: str) -> bool:
    """Count against the scope's per-key limits. Public forms call this only once their
    captcha has passed, so nobody can spend a victim's allowance without solving one."""
    return _count(request, scope, "key", key.lower()) if key else False


def _count(request, scope: str, kind: str, value: str) -> bool:
    """True when a limit is exceeded. If the cache (Redis) is down nothing is counted rather
    than failing the page: the captcha, the lockout and the 5-try code rule still stand."""
    limited = False
    for limit_kind, rate in LIMITS[scope]:
        if limit_kind != kind:
            continue
        try:
            usage = get_usage(
                request,
                group=f"portal:{scope}:{kind}",
                key=lambda _group, _request, value=value: value,
                rate=rate,
                increment=True,
            )
        except CircuitOpen:  # Redis failed moments ago (logged then, with its reason)
            logger.warning("rate-limit cache skipped (circuit open); %s not counted", scope)
            continue
        except Exception:  # the cache backend's own connection errors
            logger.warning("rate-limit cache unavailable; %s not counted", scope, exc_info=True)
            continue
        exceeded = bool(usage and usage["should_limit"])
        if exceeded and not limited:
            request.portal_exceeded_limit = (scope, kind, value, rate)
        if exceeded:
            # When the window that refused this ends (the latest, if two refused).
            wait = usage["time_left"] if usage["time_left"] > 0 else _window_seconds(rate)
            request.portal_retry_after = max(getattr(request, "portal_retry_after", 0), wait)
        limited |= exceeded
    return limited


def _window_seconds(rate: str) -> int:
    """The window of a rate such as "30/h" or "300/15m", in seconds."""
    per = rate.split("/")[1]
    return int(per[:-1] or 1) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[per[-1]]


def _first_refusal_in_window(request) -> bool:
    """True for the first refusal of a limit (scope, what is counted, its value) within the
    limit's window: a flood of refused requests writes one security event, not one each."""
    exceeded = getattr(request, "portal_exceeded_limit", None)
    if exceeded is None:
        return True
    scope, kind, value, rate = exceeded
    window = _window_seconds(rate)
    digest = hashlib.sha256(f"{scope}:{kind}:{value}".encode()).hexdigest()
    key = f"portal:throttled-event:{digest}:{int(time.time()) // window}"
    try:
        return cache.add(key, 1, timeout=window)
    except Exception:  # the cache backend's own connection errors
        return True


def render_throttled(request):
    """The clear page for a refused request, saying when to try again (the end of the limit's
    window). The first refusal of a limit in its window is written to the security event
    log; the rest only to the process log."""
    if _first_refusal_in_window(request):
        record_security_event(
            kind=SecurityEvent.Kind.THROTTLED,
            account=request.user if request.user.is_authenticated else None,
            request=request,
            detail={"path": request.path},
        )
    else:
        logger.info("rate limit: %s refused again (event already written)", request.path)
    wait = getattr(request, "portal_retry_after", 0) or 3600
    retry_at = timezone.localtime() + timedelta(seconds=wait)
    minutes = max(1, -(-wait // 60))  # rounded up
    response = render(
        request,
        "accounts/throttled.html",
        {"retry_at": retry_at, "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response

"""The guest home's 今日登入人次 / 累計登入人次 (seed 002): sign-ins today (Asia/Taipei) and
ever, counted from the security event log (every sign-in is one row there).

Not a query per page view: the counts are kept in the cache (Redis) for CACHE_SECONDS, shared
by every process, and in each process's memory for PROCESS_SECONDS, so a page view costs a
look at a dictionary; the database counts them at most once a minute (and once a minute per
process while the cache is unreachable). The numbers may be a minute behind."""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from accounts.models import SecurityEvent

logger = logging.getLogger(__name__)

CACHE_KEY = "accounts:sign-in-counts"
CACHE_SECONDS = 60
PROCESS_SECONDS = 10


@dataclass(frozen=True)
class SignInCounts:
    day: str  # the Taipei date counted as "today", ISO
    today: int
    total: int


_kept: tuple[float, SignInCounts] | None = None


def _count(now) -> SignInCounts:
    today = timezone.localdate(now)
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    sign_ins = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SIGN_IN_SUCCEEDED)
    return SignInCounts(
        day=today.isoformat(),
        today=sign_ins.filter(created_at__gte=start).count(),
        total=sign_ins.count(),
    )


def sign_in_counts() -> SignInCounts:
    global _kept
    now = timezone.now()
    day = timezone.localdate(now).isoformat()
    if _kept is not None and _kept[0] > time.monotonic() and _kept[1].day == day:
        return _kept[1]
    try:
        counts = cache.get(CACHE_KEY)
    except Exception:  # the cache backend's errors, its circuit breaker's included
        logger.info("sign-in counts: cache unavailable, counted from the database")
        counts = None
    if not isinstance(counts, SignInCounts) or counts.day != day:
        counts = _count(now)
        try:
            cache.set(CACHE_KEY, counts, CACHE_SECONDS)
        except Exception:  # kept in this process only, as logged above
            logger.info("sign-in counts: not kept in the cache")
    _kept = (time.monotonic() + PROCESS_SECONDS, counts)
    return counts


def forget() -> None:
    """Drop what this process keeps (tests)."""
    global _kept
    _kept = None

"""Circuit breakers for Redis, one per use (the cache, the Celery broker), in each process.

A Redis that hangs (it accepts connections but never answers) costs every call its whole
socket timeout. After one failure the breaker opens: for ``CIRCUIT_BREAKER_OPEN_SECONDS``
the cache and the broker are not called at all (a cache read is a miss, a write is
skipped, a mail waits in the outbox for the sweep). Then one call is let through as a
trial: if it succeeds the breaker closes, if it fails it opens again. While the trial is
out, the other threads still skip.
"""

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class CircuitOpen(ConnectionError):
    """The service failed recently: it was not called. Callers treat it as any connection
    error of that service (a cache miss, a mail left to the sweep)."""


class CircuitBreaker:
    CLOSED, OPEN, TRIAL = "closed", "open", "trial"

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._state = self.CLOSED
            self._opened_at = 0.0
            self.failures = 0  # how many times it opened (for the operator, and tests)

    @property
    def state(self) -> str:
        with self._lock:
            if self._state != self.CLOSED and self._open_elapsed():
                return "half-open"  # the next call is the trial
            return self._state

    def _open_elapsed(self) -> bool:
        return time.monotonic() - self._opened_at >= settings.CIRCUIT_BREAKER_OPEN_SECONDS

    def allow(self) -> bool:
        """May the service be called now? True when closed, and for the one trial call
        once the open period has passed."""
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if self._open_elapsed():  # open long enough, or a trial that never reported
                self._state = self.TRIAL
                self._opened_at = time.monotonic()
                return True
            return False

    def succeeded(self) -> None:
        if self._state == self.CLOSED:  # the common case, without the lock
            return
        with self._lock:
            self._state = self.CLOSED
        logger.warning("%s answers again: circuit closed", self.name)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._state = self.OPEN
            self._opened_at = time.monotonic()
            self.failures += 1
        logger.warning(
            "%s unavailable (%s: %s): not called for %s s",
            self.name,
            type(error).__name__,
            error,
            settings.CIRCUIT_BREAKER_OPEN_SECONDS,
        )

    def check(self) -> None:
        """Raise CircuitOpen unless the service may be called now."""
        if not self.allow():
            raise CircuitOpen(f"{self.name}: circuit open after a failure")


cache = CircuitBreaker("cache (Redis)")
broker = CircuitBreaker("Celery broker (Redis)")


def reset_all() -> None:
    cache.reset()
    broker.reset()

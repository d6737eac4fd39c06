"""The home pages' board, kept rendered in the cache. Every change of an announcement or a
station (its name shows on the board) moves the board's version, so the next view draws it
again; entries also expire after BOARD_SECONDS. Cache errors (Redis down) are logged and
the board is simply drawn: a page never fails because of this cache."""

import logging
import secrets

from django.core.cache import cache
from django.db import transaction

from portal.breaker import CircuitOpen

logger = logging.getLogger(__name__)

VERSION_KEY = "announcements:board:version"
BOARD_SECONDS = 300


def current_version() -> str:
    """The board's version: it moves at every change of an announcement or a station. Raises
    the cache backend's error when the cache is unreachable."""
    version = cache.get(VERSION_KEY)
    if version is None:
        version = secrets.token_hex(4)
        cache.set(VERSION_KEY, version, None)
    return version


def board_html(audience: str, language: str, draw) -> str:
    """The board for this audience and language: from the cache, or ``draw()`` and keep it."""
    try:
        key = f"announcements:board:{current_version()}:{audience}:{language}"
        html = cache.get(key)
    except CircuitOpen:  # Redis failed moments ago (logged then): not asked now
        return draw()
    except Exception:  # the cache backend's own connection errors
        logger.warning("board cache unavailable", exc_info=True)
        return draw()
    if html is None:
        html = draw()
        try:
            cache.set(key, html, BOARD_SECONDS)
        except CircuitOpen:
            pass
        except Exception:
            logger.warning("board cache unavailable", exc_info=True)
    return html


def changed(**kwargs) -> None:
    """Signal receiver: a new version once the change is committed (a board drawn from the
    old rows in between must not be kept under the new version)."""
    transaction.on_commit(_new_version)


def _new_version() -> None:
    try:
        cache.set(VERSION_KEY, secrets.token_hex(4), None)
    except Exception:
        logger.warning("board cache unavailable: the board may be %ss old", BOARD_SECONDS)

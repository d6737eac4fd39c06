"""The guest home page, kept drawn (issue 8).

This is the page thousands of teachers open to sign in each morning, and it is the same for
every guest but for two values: the CSRF token and the captcha. So it is drawn once per
process, language and announcement-board version; each request then gets a copy with its
own CSRF token and a new captcha put in place of the ones of that drawing. Both are long
random strings (64 and 40 characters) that occur nowhere else on the page. The sign-in
counts (今日登入人次 / 累計登入人次, accounts/sign_in_counts.py) are put in the same way, in
the elements marked data-sign-ins-today and data-sign-ins-total.

Kept in the process's memory, not in Redis: a deploy starts new processes, so a page drawn
with an older release's templates or static file names is never served. A page expires with
the board (BOARD_SECONDS) and is dropped when the board's version moves, so a new
announcement shows at once. A guest with something of their own to show (a message, a
prefilled login name, a query string) gets the page drawn for them as before, and so does
everyone while the cache is unreachable.
"""

import logging
import re
import time
from dataclasses import dataclass

from captcha.models import CaptchaStore
from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.translation import get_language

from accounts.sign_in_counts import SignInCounts, sign_in_counts
from announcements import board_cache
from portal.breaker import CircuitOpen

logger = logging.getLogger(__name__)

CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([0-9a-f]{40})"')


@dataclass(frozen=True)
class _Drawn:
    html: str
    token: str
    captcha_key: str
    expires: float
    counts: SignInCounts | None  # the sign-in counts drawn, when the page shows them


_pages: dict[tuple[str, str, str], _Drawn] = {}  # (template, language, board version)


def guest_home(request, template_name: str, context) -> HttpResponse:
    """The page of ``template_name`` for a guest with nothing of their own on it: a copy of
    the kept drawing when there is one, else drawn now and kept. ``context()`` gives the
    template's context, called only when the page is drawn."""
    if request.get_full_path() != request.path or len(messages.get_messages(request)):
        return render(request, template_name, context())
    try:
        version = board_cache.current_version()
    except CircuitOpen:  # Redis failed moments ago (logged then): not asked now
        return render(request, template_name, context())
    except Exception:  # the cache backend's own connection errors
        logger.warning("board cache unavailable: guest page drawn", exc_info=True)
        return render(request, template_name, context())
    key = (template_name, get_language(), version)
    drawn = _pages.get(key)
    if drawn is None or drawn.expires < time.monotonic():
        return _draw_and_keep(request, template_name, context, key)
    html = drawn.html.replace(drawn.token, get_token(request)).replace(
        drawn.captcha_key, CaptchaStore.generate_key()
    )
    counts = sign_in_counts() if drawn.counts is not None else None
    if counts != drawn.counts:
        html = html.replace(_counted(drawn.counts, "today"), _counted(counts, "today")).replace(
            _counted(drawn.counts, "total"), _counted(counts, "total")
        )
    return HttpResponse(html)


def _counted(counts: SignInCounts, which: str) -> str:
    """The element of one count as the template draws it (templates/home.html)."""
    return f"data-sign-ins-{which}>{getattr(counts, which):,}<"


def _draw_and_keep(request, template_name, context, key) -> HttpResponse:
    token = get_token(request)
    drawn_context = context()
    response = render(request, template_name, {**drawn_context, "csrf_token": token})
    html = response.content.decode()
    found = CAPTCHA_KEY.findall(html)
    if len(found) == 1 and token in html:
        for other in [page for page in _pages if page[2] != key[2]]:
            _pages.pop(other, None)  # an older board's pages
        _pages[key] = _Drawn(
            html=html,
            token=token,
            captcha_key=found[0],
            expires=time.monotonic() + board_cache.BOARD_SECONDS,
            counts=drawn_context.get("sign_ins"),
        )
    return response


def forget() -> None:
    """Drop every kept page (tests; the board's version moves on its own in production)."""
    _pages.clear()

import re

from django import template
from django.core.paginator import Paginator
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import Urlizer
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from announcements import board_cache
from announcements.attachments import human_size
from announcements.models import Announcement

register = template.Library()

HOME_ROWS = 10


class _BodyUrlizer(Urlizer):
    """Django's urlize with two differences for Chinese text: full-width punctuation ends a
    word (so "連結查詢：https://…" links the address), and every link is rel="noopener
    nofollow"."""

    word_split_re = re.compile(
        r"""([\s<>"'\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+)"""
    )
    url_template = '<a href="{href}" rel="noopener nofollow">{url}</a>'


_urlize_body = _BodyUrlizer()


def _home_page(user):
    listing = Announcement.objects.visible_to(user).listed()
    return Paginator(listing, HOME_ROWS).page(1)


@register.simple_tag(takes_context=True)
def home_board(context):
    """The home pages' board, rendered once per audience and language and kept in the cache
    (Redis in production) until an announcement or a station changes (board_cache). Both
    home pages spent most of their time drawing this table (issue 8's profile). With the
    cache unavailable the board is drawn as before."""
    user = context.get("user") or getattr(context.get("request"), "user", None)
    audience = "member" if user is not None and user.is_authenticated else "guest"
    html = board_cache.board_html(
        audience,
        get_language(),
        lambda: render_to_string(
            "partials/_announcements_board.html",
            {"board": _home_page(user)},
            request=context.get("request"),
        ),
    )
    return mark_safe(html)  # noqa: S308 -- our own template's output


@register.filter
def board_time(value):
    """ "2020年12月18日 上午 00:01:00": the board's time, in Taipei, as seed 000 shows it
    (a 12-hour clock that starts at 00); in English, the English way (18 Dec 2020, 00:01)."""
    if not value:
        return ""
    local = timezone.localtime(value)
    if not get_language().startswith("zh"):
        return date_format(local, "DATETIME_FORMAT")
    return _("%(year)s年%(month)s月%(day)s日 %(period)s %(hour)s:%(minute)s:%(second)s") % {
        "year": f"{local.year:04d}",
        "month": f"{local.month:02d}",
        "day": f"{local.day:02d}",
        "period": _("上午") if local.hour < 12 else _("下午"),
        "hour": f"{local.hour % 12:02d}",
        "minute": f"{local.minute:02d}",
        "second": f"{local.second:02d}",
    }


@register.filter(is_safe=True)
def plain_text(value):
    """An author's plain text as HTML: everything escaped, addresses made links, line breaks
    kept. Escaping happens inside urlize (word by word), then linebreaksbr adds only <br>."""
    linked = mark_safe(_urlize_body(str(value or ""), autoescape=True))  # noqa: S308 - escaped by urlize
    return linebreaksbr(linked, autoescape=True)


@register.filter
def file_size(size) -> str:
    """An attachment's size as people read it: 820 KB, 1.4 MB."""
    return human_size(int(size or 0))

"""Our own pages for a server error (500) and a bad request (400).

They are rendered without the request: no context processors, no session, no database or
cache, since any of those may be what failed. Only the helpdesk's contact comes from
settings; if even the template cannot be rendered, a fixed page is sent. Every text goes
through gettext (Traditional Chinese, English when the visitor chose it).
"""

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseServerError
from django.template import loader
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token


def fallback_page() -> str:
    """The page sent when even the template cannot be rendered: fixed markup, translated
    text (gettext needs no request, database or template)."""
    language = get_language() or "zh-hant"
    lang = "zh-Hant-TW" if language == "zh-hant" else language
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(_('系統發生錯誤'))}</title></head><body>"
        f"<h1>{escape(_('系統發生錯誤'))}</h1>"
        f"<p>{escape(_('很抱歉，系統處理您的要求時發生錯誤。請稍後再試一次，或聯絡系統客服。'))}</p>"
        f'<p><a href="/">{escape(_("回首頁"))}</a></p></body></html>'
    )


def _page(template_name: str) -> str:
    context = {
        "helpdesk_phone": getattr(settings, "HELPDESK_PHONE", ""),
        "helpdesk_email": getattr(settings, "HELPDESK_EMAIL", ""),
    }
    try:
        return loader.get_template(template_name).render(context)
    except Exception:  # an error page that fails would leave the visitor a bare "500"
        return fallback_page()


@requires_csrf_token
def server_error(request):
    return HttpResponseServerError(_page("500.html"))


@requires_csrf_token
def bad_request(request, exception):
    return HttpResponseBadRequest(_page("400.html"))

import time

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import SecurityEvent
from accounts.security_log import record_security_event
from accounts.services.sign_in import PASSWORD_CHANGE_REQUIRED
from accounts.sessions import LAST_SEEN, SIGNED_IN_AT, end_this_session

TOUCH_EVERY_SECONDS = 60


def answers_for_itself(view):
    """Mark a view that answers every state of a session itself instead of being sent to a
    portal page by the middleware below: the OpenID Connect authorization endpoint, which
    must answer the station (with prompt=none it may show no page at all). For it, an
    expired session ends and the request goes on as a guest's; a required step waits in
    ``request.required_step`` (the step's address, with ``next``)."""
    view.answers_for_itself = True
    return view


def _answers_for_itself(request) -> bool:
    try:
        return getattr(resolve(request.path_info).func, "answers_for_itself", False)
    except Resolver404:
        return False


class IdleTimeoutMiddleware:
    """End a signed-in session after SESSION_IDLE_MINUTES without a request, and in any case
    SESSION_ABSOLUTE_HOURS after its sign-in (kept in the session when it starts), however
    active it has been since: the person signs in again on the login page.

    The last-seen time is written at most once a minute, so an active user does not cost a
    session write on every request. A session from before the absolute lifetime existed has
    no sign-in time: its lifetime starts at its next request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            last_seen = session.get(LAST_SEEN, now)
            signed_in_at = session.get(SIGNED_IN_AT, now)
            if now - signed_in_at > settings.SESSION_ABSOLUTE_HOURS * 3600:
                self._end(request, reason="absolute")
                messages.info(
                    request,
                    _("您已登入超過 %(hours)d 小時，為了安全，系統已自動登出，請重新登入。")
                    % {"hours": settings.SESSION_ABSOLUTE_HOURS},
                )
                if _answers_for_itself(request):
                    return self.get_response(request)
                return redirect(self._login_url(request))
            if now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
                self._end(request, reason="idle")
                messages.info(
                    request,
                    _("您已閒置超過 %(minutes)d 分鐘，系統已自動登出，請重新登入。")
                    % {"minutes": settings.SESSION_IDLE_MINUTES},
                )
            else:
                if now - last_seen >= TOUCH_EVERY_SECONDS or LAST_SEEN not in session:
                    session[LAST_SEEN] = now
                if SIGNED_IN_AT not in session:
                    session[SIGNED_IN_AT] = now
        return self.get_response(request)

    @staticmethod
    def _end(request, *, reason):
        account = request.user
        record_security_event(
            kind=SecurityEvent.Kind.SESSION_EXPIRED,
            account=account,
            actor=account,
            request=request,
            detail={"reason": reason},
        )
        end_this_session(request, reason=reason)

    @staticmethod
    def _login_url(request):
        target = reverse("accounts:login")
        if request.method == "GET" and request.path != "/":
            target += "?" + urlencode({"next": request.get_full_path()})
        return target


class RequiredActionsMiddleware:
    """After sign-in, the required steps come before anything else (seed 002's order): a
    password that breaks the current policy or is too old is changed first, then two-factor
    is bound where it is required. Only that page and signing out open until then."""

    ALLOWED_PREFIXES = ("/static/", "/captcha/", "/i18n/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            if request.session.get(PASSWORD_CHANGE_REQUIRED):
                step = "accounts:me-password"
            # Checked on every request, not remembered from the sign-in: an account made staff,
            # or whose binding helpdesk reset, binds before its next page. The binding comes
            # with the user (select_related), so this costs no query.
            elif user.must_use_two_factor and user.two_factor_device is None:
                step = "accounts:me-two-factor"
            else:
                return self.get_response(request)
            allowed = {reverse(step), reverse("accounts:logout")}
            if request.path not in allowed and not request.path.startswith(self.ALLOWED_PREFIXES):
                target = reverse(step)
                if request.method == "GET" and request.path != "/":
                    target += "?" + urlencode({"next": request.get_full_path()})
                if _answers_for_itself(request):
                    request.required_step = target
                    return self.get_response(request)
                return redirect(target)
        return self.get_response(request)

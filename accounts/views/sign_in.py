"""Signing in and out: the login page, the code step of a two-factor sign-in, sign-out, and
the admin's own login and password pages, which lead here (SPEC section 3)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.fields import unit_prefix_hint
from accounts.forms import SignInForm, TwoFactorCodeForm
from accounts.lockout import lock_state, lockout_name
from accounts.normalize import has_unit_prefix
from accounts.services.reauthentication import asked_to_sign_in_again
from accounts.services.sign_in import SignInResult, sign_in, sign_out
from accounts.services.two_factor_sign_in import (
    complete_two_factor_sign_in,
    pending_two_factor_sign_in,
)
from accounts.throttles import address_throttled, key_throttled, render_throttled
from portal.http import next_url, posted, redirect_keeping_next


def prefill(request):
    """The name of the account just made or looked up, typed in for them (once)."""
    username = request.session.pop("prefill_username", "")
    return {"username": username} if username else {}


def _sign_in_page(request, form, error=None, again=False, hint=None):
    if again:  # the signed-in account proves again it is there: its name is not typed
        form.fields["username"].widget.attrs["readonly"] = True
    context = {
        "form": form,
        "next": next_url(request),
        "sign_in_error": error,
        "again": again,
        "hint": hint,
    }
    return render(request, "accounts/login.html", context)


def _local_time(moment):
    return date_format(timezone.localtime(moment), "H:i")


def failure_message(result) -> str:
    if result.disabled:
        return _("此帳號已停用，無法登入。請聯絡貴單位的主帳號負責人重新啟用。")
    if result.lock.locked:
        return _(
            "帳號或密碼錯誤，次數達 3 次即鎖定，目前【%(failures)d】。此帳號已鎖定 15 分鐘，"
            "請於 %(until)s 後再試，或致電系統客服 %(phone)s 解鎖。"
        ) % {
            "failures": min(result.lock.failures, settings.AXES_FAILURE_LIMIT),
            "until": _local_time(result.lock.locked_until),
            "phone": settings.HELPDESK_PHONE,
        }
    return _("帳號或密碼錯誤，次數達 3 次即鎖定，目前【%(failures)d】。%(hint)s") % {
        "failures": result.lock.failures,
        "hint": _never_set_a_password_hint(),
    }


def _never_set_a_password_hint():
    """Where someone who never set a password should go: the resend page once it exists."""
    try:
        reverse("accounts:verify-resend")
    except NoReverseMatch:
        return _(
            "尚未設定密碼嗎？請使用「註冊會員成功通知」信中的設定密碼連結；找不到信請聯絡貴單位的主帳號負責人。"
        )
    return _("尚未設定密碼或沒收到驗證信嗎？請使用下方的「補寄驗證信」。")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    """Sign in; or, for a signed-in person asked to sign in again (a station's prompt=login
    or max_age), the same page for the same account: password, captcha and lockout, then
    the code step when two-factor is bound."""
    again = request.user.is_authenticated and asked_to_sign_in_again(request)
    if request.method == "GET":
        if request.user.is_authenticated and not again:
            return redirect(next_url(request) or "home")
        initial = {"username": request.user.username} if again else prefill(request)
        return _sign_in_page(request, SignInForm(initial=initial), again=again)
    data = request.POST.copy()
    if again:
        data["username"] = request.user.username
    form = SignInForm(data)
    if not form.is_valid():  # a typo (or a wrong captcha) costs none of the allowance
        return _sign_in_page(request, form, again=again)
    if address_throttled(request, "sign-in"):
        return render_throttled(request)
    result = sign_in(
        request=request,
        username=form.cleaned_data["username"],
        password=form.cleaned_data["password"],
    )
    if result.needs_code:
        return redirect_keeping_next(request, "accounts:login-two-factor")
    if result.succeeded:
        return redirect(next_url(request) or "home")
    username = form.cleaned_data["username"]
    hint = None if has_unit_prefix(username) else unit_prefix_hint(username)
    form = SignInForm(initial={"username": username})
    return _sign_in_page(request, form, error=failure_message(result), again=again, hint=hint)


def _back_to_sign_in(request, message):
    messages.info(request, message)
    return redirect_keeping_next(request, "accounts:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request):
    """The code step of a two-factor sign-in; the session is not signed in until it passes."""
    account = pending_two_factor_sign_in(request)
    if account is None:
        return _back_to_sign_in(
            request, _("請重新輸入帳號與密碼（驗證碼須在輸入密碼後 5 分鐘內完成）。")
        )
    if request.method == "POST" and request.POST.get("account") != account.username:
        # This page was opened for another sign-in (another tab has signed in since).
        return _back_to_sign_in(request, _("登入狀態已經改變，請重新輸入帳號與密碼。"))
    form = TwoFactorCodeForm(posted(request))
    # Only a code that is checked is counted, against the pending account: an empty post
    # costs nothing, and the school's per-address sign-in allowance is the password step's
    # (this step has no captcha, so anything it counted there could be spent).
    if request.method == "POST" and form.is_valid():
        if key_throttled(request, "two-factor-sign-in", str(account.pk)):
            return render_throttled(request)
        result = complete_two_factor_sign_in(
            request=request, account=account, code=form.cleaned_data["code"]
        )
        if result.succeeded:
            return redirect(next_url(request) or "home")
        if result.lock.locked:
            form = SignInForm(initial={"username": account.username})
            return _sign_in_page(request, form, error=_code_lock_message(result))
        if result.code_reused:  # right, but used moments ago: not counted
            form.add_error(None, _code_reused_message())
        else:
            form.add_error(
                None,
                _(
                    "驗證碼錯誤，次數達 3 次即鎖定，目前【%(failures)d】。請輸入驗證器 App "
                    "目前顯示的 6 位數字（每個驗證碼只能用一次），或一組復原碼。"
                )
                % {"failures": result.lock.failures},
            )
        form.data = {}  # an empty box for the next code; the error stays
    # The page's only box; recovery codes have letters, so no digits-only keypad.
    form.fields["code"].widget.attrs.update(autofocus=True, inputmode="text")
    context = {"form": form, "account": account, "next": next_url(request)}
    return render(request, "accounts/login_two_factor.html", context)


def _code_reused_message() -> str:
    return _(
        "這組驗證碼剛用過，請等下一組：驗證器 App 每 30 秒換一組數字，"
        "請等數字變了再輸入（這次不算錯誤）。"
    )


def _code_lock_message(result) -> str:
    if result.just_locked:
        return _(
            "驗證碼錯誤已達 3 次，此帳號已鎖定 15 分鐘，請於 %(until)s 後再試，"
            "或致電系統客服 %(phone)s 解鎖。"
        ) % {"until": _local_time(result.lock.locked_until), "phone": settings.HELPDESK_PHONE}
    return failure_message(result)


def lockout_response(request, original_response, credentials):
    """What django-axes answers when a name is locked (AXES_LOCKOUT_CALLABLE): the sign-in
    view renders the lockout message itself, so its page is kept; elsewhere the sign-in page
    with the message."""
    if original_response is not None:
        return original_response
    return render_locked_sign_in(request, credentials)


def render_locked_sign_in(request, credentials):
    """What django-axes shows when a lockout happens outside our sign-in view."""
    username = (credentials or {}).get("username", "")
    form = SignInForm(initial={"username": username})
    lock = lock_state(lockout_name(username))
    form.add_error(None, failure_message(SignInResult(account=None, username=username, lock=lock)))
    return render(request, "accounts/login.html", {"form": form, "next": ""})


class LogoutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET); the sign-out is the service's."""

    def post(self, request, *args, **kwargs):
        sign_out(request)
        redirect_to = self.get_success_url()
        if redirect_to != request.get_full_path():
            return HttpResponseRedirect(redirect_to)
        return super().get(request, *args, **kwargs)


def admin_login(request):
    """The admin's own login page would bypass the captcha and the lockout: send everyone to
    the portal's sign-in instead."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(next_url(request) or "admin:index")
        raise PermissionDenied(_("您的帳號沒有管理後台的權限。"))
    query = urlencode({"next": next_url(request) or reverse("admin:index")})
    return redirect(f"{reverse('accounts:login')}?{query}")


def admin_password_change(request):
    """The admin's own password change would skip the lockout, the notice mail and the
    password's history: the admin changes its password on the portal's page, like everyone."""
    return redirect(
        f"{reverse('accounts:me-password')}?{urlencode({'next': reverse('admin:index')})}"
    )

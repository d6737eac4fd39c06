from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import SetPasswordForm, SignInForm
from accounts.lockout import lock_state
from accounts.models import SecurityEvent
from accounts.validators import (
    CharacterClassValidator,
    GuessabilityValidator,
    LengthValidator,
    LoginNameValidator,
    PasswordHistoryValidator,
    SequenceValidator,
    dictionary_words,
)

POLICY = [
    LengthValidator,
    CharacterClassValidator,
    PasswordHistoryValidator,
    LoginNameValidator,
    SequenceValidator,
    GuessabilityValidator,
]


def password_rules():
    return [validator().get_help_text() for validator in POLICY]


def _sign_in_page(request, form, error=None):
    context = {"form": form, "next": _next_url(request), "sign_in_error": error}
    return render(request, "accounts/login.html", context)


def _next_url(request):
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return ""


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
    return _("尚未設定密碼或沒收到驗證信嗎？請使用下方的「獲取驗證信」。")


@never_cache
def home(request):
    if request.user.is_authenticated:
        return render(request, "accounts/home_member.html")
    return render(request, "home.html", {"form": SignInForm(initial=_prefill(request)), "next": ""})


def _prefill(request):
    username = request.session.pop("prefill_username", "")
    return {"username": username} if username else {}


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        if request.user.is_authenticated:
            return redirect(_next_url(request) or "home")
        return _sign_in_page(request, SignInForm(initial=_prefill(request)))
    form = SignInForm(request.POST)
    if not form.is_valid():
        return _sign_in_page(request, form)
    result = services.sign_in(
        request=request,
        username=form.cleaned_data["username"],
        password=form.cleaned_data["password"],
    )
    if result.succeeded:
        return redirect(_next_url(request) or "home")
    form = SignInForm(initial={"username": form.cleaned_data["username"]})
    return _sign_in_page(request, form, error=failure_message(result))


def render_locked_sign_in(request, credentials):
    """What django-axes shows when a lockout happens outside our sign-in view."""
    username = (credentials or {}).get("username", "")
    form = SignInForm(initial={"username": username})
    lock = lock_state(username)
    form.add_error(
        None, failure_message(services.SignInResult(account=None, username=username, lock=lock))
    )
    return render(request, "accounts/login.html", {"form": form, "next": ""})


class LogoutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET); records the sign-out."""

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            services.record_security_event(
                kind=SecurityEvent.Kind.SIGNED_OUT, account=request.user, request=request
            )
        return super().post(request, *args, **kwargs)


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def set_password(request, token):
    found = services.find_set_password_token(token)
    if found is None:
        context = {"link_hours": settings.SET_PASSWORD_LINK_HOURS}
        return render(request, "accounts/set_password_invalid.html", context, status=404)
    account = found.account
    form = SetPasswordForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_password_from_link(
                token=found, new_password=form.cleaned_data["new_password1"], request=request
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session["prefill_username"] = account.username
            messages.success(
                request,
                _("密碼設定完成！請使用帳號 %(username)s 與新密碼登入。")
                % {"username": account.username},
            )
            return redirect("accounts:login")
    return render(
        request,
        "accounts/set_password.html",
        {
            "form": form,
            "account": account,
            "rules": password_rules(),
            "user_words": dictionary_words(account),
        },
    )


def admin_login(request):
    """The admin's own login page would bypass the captcha and the lockout: send everyone to
    the portal's sign-in instead."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(_next_url(request) or "admin:index")
        raise PermissionDenied(_("您的帳號沒有管理後台的權限。"))
    query = urlencode({"next": _next_url(request) or reverse("admin:index")})
    return redirect(f"{reverse('accounts:login')}?{query}")

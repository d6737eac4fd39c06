import csv
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import imports, services, two_factor
from accounts.access import get_managed_account, listed_accounts, require_main_account
from accounts.forms import (
    AccountLookupForm,
    ChangePasswordForm,
    EmailChangeForm,
    PasswordAgainForm,
    PasswordResetCodeForm,
    PersonForm,
    ProfileForm,
    SetPasswordForm,
    SignInForm,
    SubAccountCreateForm,
    SubAccountProfileForm,
    TransferForm,
    TwoFactorBindingForm,
    TwoFactorCodeForm,
)
from accounts.guest_home import guest_home
from accounts.lockout import lock_state, lockout_name
from accounts.models import Account, SecurityEvent
from accounts.throttles import (
    address_throttled,
    captcha_passed,
    key_throttled,
    render_throttled,
)
from accounts.validators import (
    CharacterClassValidator,
    GuessabilityValidator,
    LengthValidator,
    LoginNameValidator,
    PasswordHistoryValidator,
    SequenceValidator,
    dictionary_words,
)
from stations.models import Consent, Station, StationGrant, ordered_fields

POLICY = [
    LengthValidator,
    CharacterClassValidator,
    PasswordHistoryValidator,
    LoginNameValidator,
    SequenceValidator,
    GuessabilityValidator,
]


def _posted(request):
    """The submitted data, or None on GET: an empty POST is still a submission (errors)."""
    return request.POST if request.method == "POST" else None


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
        stations = Station.objects.granted_to(request.user)
        return render(request, "accounts/home_member.html", {"stations": stations})
    initial = _prefill(request)
    if initial:  # the name of the account just made or looked up, typed in for them
        return render(request, "home.html", {"form": SignInForm(initial=initial), "next": ""})
    return guest_home(request, "home.html", lambda: {"form": SignInForm(), "next": ""})


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
    valid = form.is_valid()
    if captcha_passed(form) and address_throttled(request, "sign-in"):
        return render_throttled(request)
    if not valid:
        return _sign_in_page(request, form)
    result = services.sign_in(
        request=request,
        username=form.cleaned_data["username"],
        password=form.cleaned_data["password"],
    )
    if result.needs_code:
        return _redirect_keeping_next(request, "accounts:login-two-factor")
    if result.succeeded:
        return redirect(_next_url(request) or "home")
    form = SignInForm(initial={"username": form.cleaned_data["username"]})
    return _sign_in_page(request, form, error=failure_message(result))


def _redirect_keeping_next(request, url_name):
    """Redirect to a step of a flow, carrying where the person was going."""
    target = reverse(url_name)
    if _next_url(request):
        target += "?" + urlencode({"next": _next_url(request)})
    return redirect(target)


def _back_to_sign_in(request, message):
    messages.info(request, message)
    return _redirect_keeping_next(request, "accounts:login")


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request):
    """The code step of a two-factor sign-in; the session is not signed in until it passes."""
    account = services.pending_two_factor_sign_in(request)
    if account is None:
        return _back_to_sign_in(
            request, _("請重新輸入帳號與密碼（驗證碼須在輸入密碼後 5 分鐘內完成）。")
        )
    if request.method == "POST" and request.POST.get("account") != account.username:
        # This page was opened for another sign-in (another tab has signed in since).
        return _back_to_sign_in(request, _("登入狀態已經改變，請重新輸入帳號與密碼。"))
    form = TwoFactorCodeForm(_posted(request))
    # Only a code that is checked is counted, against the pending account: an empty post
    # costs nothing, and the school's per-address sign-in allowance is the password step's
    # (this step has no captcha, so anything it counted there could be spent).
    if request.method == "POST" and form.is_valid():
        if key_throttled(request, "two-factor-sign-in", str(account.pk)):
            return render_throttled(request)
        result = services.complete_two_factor_sign_in(
            request=request, account=account, code=form.cleaned_data["code"]
        )
        if result.succeeded:
            return redirect(_next_url(request) or "home")
        if result.lock.locked:
            form = SignInForm(initial={"username": account.username})
            return _sign_in_page(request, form, error=_code_lock_message(result))
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
    context = {"form": form, "account": account, "next": _next_url(request)}
    return render(request, "accounts/login_two_factor.html", context)


def _code_lock_message(result) -> str:
    if result.just_locked:
        return _(
            "驗證碼錯誤已達 3 次，此帳號已鎖定 15 分鐘，請於 %(until)s 後再試，"
            "或致電系統客服 %(phone)s 解鎖。"
        ) % {"until": _local_time(result.lock.locked_until), "phone": settings.HELPDESK_PHONE}
    return failure_message(result)


def render_locked_sign_in(request, credentials):
    """What django-axes shows when a lockout happens outside our sign-in view."""
    username = (credentials or {}).get("username", "")
    form = SignInForm(initial={"username": username})
    lock = lock_state(lockout_name(username))
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
    form = SetPasswordForm(_posted(request), account=account)
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


def admin_password_change(request):
    """The admin's own password change would skip the lockout, the notice mail and the
    password's history: the admin changes its password on the portal's page, like everyone."""
    return redirect(
        f"{reverse('accounts:me-password')}?{urlencode({'next': reverse('admin:index')})}"
    )


# --- Public self-service forms ------------------------------------------------------------

RESET_FLOW = "password_reset_flow"


def _form_page(request, template, form, **context):
    return render(request, template, {"form": form, **context})


@never_cache
@require_http_methods(["GET", "POST"])
def verify_resend(request):
    form = PersonForm(_posted(request))
    if request.method == "POST":
        valid = form.is_valid()
        if captcha_passed(form) and address_throttled(request, "verify-resend"):
            return render_throttled(request)
        if valid:
            if key_throttled(request, "verify-resend", form.cleaned_data["username"]):
                return render_throttled(request)
            services.request_verification_resend(
                full_name=form.cleaned_data["full_name"],
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                request=request,
            )
            messages.success(
                request,
                _(
                    "已受理。如果您填寫的姓名、帳號與信箱都正確，而且帳號尚未開通，新的驗證信已寄到您的信箱；"
                    "請在 %(hours)d 小時內點選信中的連結設定密碼，先前寄出的連結都已失效。"
                )
                % {"hours": settings.SET_PASSWORD_LINK_HOURS},
            )
            return redirect("accounts:verify-resend")
    return _form_page(request, "accounts/verify_resend.html", form)


@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot(request):
    form = PersonForm(_posted(request))
    if request.method == "POST":
        valid = form.is_valid()
        if captcha_passed(form) and address_throttled(request, "password-forgot"):
            return render_throttled(request)
        if valid:
            if key_throttled(request, "password-forgot", form.cleaned_data["username"]):
                return render_throttled(request)
            flow = services.start_password_reset(
                full_name=form.cleaned_data["full_name"],
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                request=request,
            )
            request.session[RESET_FLOW] = flow.as_session()
            return redirect("accounts:password-forgot-code")
    return _form_page(request, "accounts/password_forgot.html", form)


@sensitive_post_parameters("code", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot_code(request):
    flow = services.ResetFlow.from_session(request.session.get(RESET_FLOW))
    if flow is None:
        messages.info(request, _("請先填寫姓名、帳號與信箱，系統會寄出驗證碼。"))
        return redirect("accounts:password-forgot")
    if request.method == "POST" and request.POST.get("action") == "resend":
        return _resend_reset_code(request, flow)
    # The account's own rules (history, its name, its side's length) are checked only once
    # the code has passed (finalize_password_reset): before that they would tell whether
    # step 1 matched, and the history rule would test guesses of the current password.
    form = PasswordResetCodeForm(_posted(request), account=None)
    if request.method == "POST":
        valid = form.is_valid()
        if captcha_passed(form) and (
            address_throttled(request, "password-code")
            or key_throttled(request, "password-code", flow.username)
        ):
            return render_throttled(request)
        if valid:
            try:
                account = services.finalize_password_reset(
                    flow=flow,
                    code=form.cleaned_data["code"],
                    new_password=form.cleaned_data["new_password1"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                del request.session[RESET_FLOW]
                request.session["prefill_username"] = account.username
                messages.success(request, _("密碼已重設！請使用新密碼登入。"))
                return redirect("accounts:login")
        elif not {"code", "captcha"} & set(form.errors):
            # Every error at once: say whether the code is right too (a wrong one counts).
            code = form.cleaned_data["code"]
            if services.check_password_reset_code(flow=flow, code=code, request=request) is None:
                form.add_error("code", services.reset_code_error())
    return _form_page(
        request,
        "accounts/password_forgot_code.html",
        form,
        prefix=flow.prefix,
        rules=password_rules(),
        # Only what the visitor typed: the account's own data would tell a match apart.
        user_words=[flow.username],
        minutes=settings.PASSWORD_RESET_CODE_MINUTES,
    )


def _resend_reset_code(request, flow):
    if address_throttled(request, "password-resend") or key_throttled(
        request, "password-resend", flow.username
    ):
        return render_throttled(request)
    try:
        flow = services.resend_password_reset_code(flow=flow, request=request)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        request.session[RESET_FLOW] = flow.as_session()
        messages.success(
            request,
            _(
                "已重寄。如果資料正確，新的驗證碼已寄出，信中的英文代碼為「%(prefix)s」；舊的驗證碼已失效。"
            )
            % {"prefix": flow.prefix},
        )
    return redirect("accounts:password-forgot-code")


@never_cache
@require_http_methods(["GET", "POST"])
def account_lookup(request):
    form = AccountLookupForm(_posted(request))
    if request.method == "POST":
        valid = form.is_valid()
        if captcha_passed(form) and address_throttled(request, "account-lookup"):
            return render_throttled(request)
        if valid:
            if key_throttled(request, "account-lookup", form.cleaned_data["email"]):
                return render_throttled(request)
            services.lookup_accounts(
                unit_code=form.cleaned_data["code"],
                email=form.cleaned_data["email"],
                request=request,
            )
            messages.success(
                request,
                _("已受理。如果校代碼與信箱都正確，該信箱在這個單位的帳號清單已寄到該信箱。"),
            )
            return redirect("accounts:account-lookup")
    return _form_page(request, "accounts/account_lookup.html", form)


# --- The signed-in account's own pages ------------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me(request):
    account = request.user
    initial = {
        field: getattr(account, field) for field in ("full_name", "office", "title", "phone")
    }
    form = ProfileForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        services.update_profile(account=account, request=request, **form.cleaned_data)
        messages.success(request, _("個人資料已更新。"))
        return redirect("accounts:me")
    pending_email = account.email_change_requests.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    return _form_page(
        request,
        "accounts/me.html",
        form,
        pending_email=pending_email,
        two_factor_on=account.two_factor_device is not None,
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me_password(request):
    form = ChangePasswordForm(_posted(request), account=request.user)
    if request.method == "POST":
        if key_throttled(request, "password-change", str(request.user.pk)):
            return render_throttled(request)
        if form.is_valid():
            try:
                services.change_password(
                    account=request.user,
                    current_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("密碼已變更，其他裝置上的登入都已結束。"))
                return redirect(_next_url(request) or "home")
        elif "old_password" in form.cleaned_data:
            # Every error at once: the current password is checked too (a wrong one counts).
            error = services.check_password_again(
                account=request.user,
                password=form.cleaned_data["old_password"],
                request=request,
                purpose="password_change",
            )
            if error:
                form.add_error("old_password", error)
    return _form_page(
        request,
        "accounts/me_password.html",
        form,
        required=request.session.get(services.PASSWORD_CHANGE_REQUIRED),
        max_age_days=settings.PASSWORD_MAX_AGE_DAYS,
        rules=password_rules(),
        user_words=dictionary_words(request.user),
        next=_next_url(request),
    )


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me_email(request):
    form = EmailChangeForm(_posted(request), account=request.user)
    if request.method == "POST":
        if key_throttled(request, "email-change", str(request.user.pk)):
            return render_throttled(request)
        if form.is_valid():
            new_email = form.cleaned_data["new_email"]
            try:
                services.request_email_change(
                    account=request.user,
                    new_email=new_email,
                    password=form.cleaned_data["password"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("確認信已寄到 %(new)s，請點選信中的連結完成變更；在那之前仍使用 %(old)s。")
                    % {"new": new_email, "old": request.user.email},
                )
                return redirect("accounts:me")
        elif "password" in form.cleaned_data:
            error = services.check_password_again(
                account=request.user,
                password=form.cleaned_data["password"],
                request=request,
                purpose="email_change",
            )
            if error:
                form.add_error("password", error)
    return _form_page(request, "accounts/me_email.html", form)


RECOVERY_CODES_TO_SHOW = "recovery_codes_to_show"


def _show_recovery_codes(request, codes, *, first):
    """Post/redirect/get: the codes wait in the session for the one page that shows them, so
    reloading that page cannot make new codes (and void the ones just printed)."""
    request.session[RECOVERY_CODES_TO_SHOW] = {"codes": codes, "first": first}
    return _redirect_keeping_next(request, "accounts:me-two-factor-codes")


@login_required
@never_cache
@require_GET
def me_two_factor_codes(request):
    shown = request.session.pop(RECOVERY_CODES_TO_SHOW, None)
    if shown is None:
        return redirect("accounts:me-two-factor")
    context = {**shown, "next": _next_url(request), "now": timezone.now()}
    return render(request, "accounts/two_factor_recovery_codes.html", context)


@sensitive_post_parameters("code", "password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me_two_factor(request):
    """Bind an authenticator (QR code or typed secret, confirmed by a code), then: recovery
    codes, regenerate them or unbind, each after the password is given again."""
    account = request.user
    if request.method == "POST" and key_throttled(request, "two-factor", str(account.pk)):
        return render_throttled(request)
    if account.two_factor_device is None:
        secret = services.start_two_factor_binding(account=account)
        form = TwoFactorBindingForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            try:
                codes = services.confirm_two_factor_binding(
                    account=account,
                    code=form.cleaned_data["code"],
                    password=form.cleaned_data["password"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return _show_recovery_codes(request, codes, first=True)
        uri = two_factor.provisioning_uri(secret, account.username)
        context = {
            "form": form,
            "secret": two_factor.grouped(secret),
            "qr_svg": two_factor.qr_svg(uri),
            "required": account.must_use_two_factor,
            "next": _next_url(request),
        }
        return render(request, "accounts/me_two_factor_bind.html", context)
    action = request.POST.get("action") if request.method == "POST" else None
    if request.method == "POST" and action not in ("regenerate", "disable"):
        return HttpResponseBadRequest()  # never unbind on a form we did not send
    forms = {
        name: PasswordAgainForm(
            _posted(request) if name == action else None, auto_id=f"id_{name}_%s"
        )
        for name in ("regenerate", "disable")
    }
    form = forms.get(action)
    if form is not None and form.is_valid():
        password = form.cleaned_data["password"]
        try:
            if action == "regenerate":
                codes = services.regenerate_recovery_codes(
                    account=account, password=password, request=request
                )
                return _show_recovery_codes(request, codes, first=False)
            services.disable_two_factor(account=account, password=password, request=request)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已解除雙因子認證。"))
            return redirect("accounts:me-two-factor")
    context = {
        "regenerate_form": forms["regenerate"],
        "disable_form": forms["disable"],
        "device": account.two_factor_device,
        "codes_left": account.recovery_codes.filter(used_at=None).count(),
        "required": account.must_use_two_factor,
    }
    return render(request, "accounts/me_two_factor.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def email_confirm(request, token):
    """GET shows a button; only the POST changes the address (mail scanners follow links)."""
    change = services.find_email_change(token)
    if change is None:
        return render(request, "accounts/email_confirm_invalid.html", status=404)
    signed_in_as_account = request.user.is_authenticated and request.user.pk == change.account_id
    if change.needs_the_person and not signed_in_as_account:
        # Asked for by the holder or helpdesk: the person confirms it, signed in.
        return render(request, "accounts/email_confirm_sign_in.html", {"change": change})
    if request.method == "POST":
        try:
            services.confirm_email_change(
                change=change,
                actor=request.user if request.user.is_authenticated else None,
                request=request,
            )
        except ValidationError:
            return render(request, "accounts/email_confirm_invalid.html", status=404)
        messages.success(request, _("公務信箱已變更為 %(email)s。") % {"email": change.new_email})
        return redirect("accounts:me" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/email_confirm.html", {"change": change})


# --- The main-account holder's pages (SPEC section 6) ------------------------------------

PAGE_SIZE = 50


def _profile_from(cleaned) -> services.Profile:
    return services.Profile(
        full_name=cleaned["full_name"],
        office=cleaned["office"],
        title=cleaned["title"],
        phone=cleaned["phone"],
        email=cleaned["email"],
    )


def _holder_accounts(holder, params):
    """The unit's accounts, filtered by q, state and station."""
    accounts = listed_accounts(holder).order_by("username")
    query = (params.get("q") or "").strip()
    if query:
        accounts = accounts.filter(
            # Login names are lower case (a database constraint), so they need no UPPER() on
            # every row; names and addresses keep their case and are matched without it.
            Q(username__contains=query.lower())
            | Q(full_name__icontains=query)
            | Q(email__icontains=query)
        )
    if params.get("state") in Account.State.values:
        accounts = accounts.filter(state=params["state"])
    if params.get("station"):
        accounts = accounts.filter(station_grants__station__slug=params["station"])
    return accounts


def _list_page(accounts, number, *, filtered: bool):
    """A page of the holder's list. A filtered list asks for one row more than a page first:
    when that is all there is (a search's usual answer), it is counted in memory instead of
    by a second pass of the filter over the unit."""
    paginator = Paginator(accounts, PAGE_SIZE)
    if filtered and number in (None, "", "1"):
        first = list(accounts[: PAGE_SIZE + 1])
        if len(first) <= PAGE_SIZE:
            return Paginator(first, PAGE_SIZE).get_page(1)
        return Page(first[:PAGE_SIZE], 1, paginator)  # rows at hand; only the count is left
    return paginator.get_page(number)


def _local_minute(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M}"


# The holder's list reads these columns as plain tuples: no model per row.
LIST_COLUMNS = ("id", "username", "full_name", "office", "title", "state", "role", "last_login")
LIST_ROW = (
    '<tr><td><a href="{}">{}</a>{}</td><td>{}</td><td>{}／{}</td>'
    '<td><span class="state state--{}">{}</span></td><td>{}</td><td>{}</td></tr>'
)


def _account_rows(accounts, stations, holder) -> list[SafeString]:
    """The list's table rows, drawn here rather than in the template: fifty rows of a dozen
    cells and station chips were two thirds of the page's time as template nodes.

    Accounts come as tuples of LIST_COLUMNS; grants and consents as tuples in two queries,
    matched to the station list in memory. Each station's two chips are drawn once."""
    accounts = list(accounts)
    ids = [row[0] for row in accounts]
    fields = {station.pk: station.field_list for station in stations}
    granted: dict[int, list] = {}
    for account_id, station_id in StationGrant.objects.filter(account_id__in=ids).values_list(
        "account_id", "station_id"
    ):
        granted.setdefault(account_id, []).append(station_id)
    consented = {
        (account_id, station_id)
        for account_id, station_id, consent_fields in Consent.objects.filter(
            account_id__in=ids, revoked_at=None
        ).values_list("account_id", "station_id", "fields")
        if ordered_fields(consent_fields) == fields.get(station_id)
    }
    position = {station.pk: index for index, station in enumerate(stations)}
    chip = {}
    for station in stations:
        chip[station.pk, True] = format_html(
            '<span class="chip chip--ok">{} ✓</span>', station.name
        )
        chip[station.pk, False] = format_html('<span class="chip">{} …</span>', station.name)
    link = reverse("accounts:manage-account", args=["-"])[:-2]  # "/manage/accounts/"
    own_page = reverse("accounts:me")  # the holder's own row: edited at /me/
    states = {value: str(label) for value, label in Account.State.choices}
    main_badge = format_html(' <span class="badge">{}</span>', _("主帳號"))
    no_stations = mark_safe('<span class="muted">—</span>')
    never = format_html('<span class="muted">{}</span>', _("未曾登入"))
    rows = []
    for pk, username, full_name, office, title, state, role, last_login in accounts:
        station_ids = sorted(granted.get(pk, []), key=position.__getitem__)
        # Every piece joined here was made by format_html above.
        chips = mark_safe("".join(chip[sid, (pk, sid) in consented] for sid in station_ids))  # noqa: S308
        rows.append(
            format_html(
                LIST_ROW,
                own_page if pk == holder.pk else link + quote(username) + "/",
                username,
                main_badge if role == Account.Role.MAIN else "",
                full_name,
                office,
                title,
                state,
                states[state],
                chips or no_stations,
                _local_minute(last_login) if last_login else never,
            )
        )
    return rows


@login_required
@never_cache
@require_GET
def manage_accounts(request):
    accounts = _holder_accounts(request.user, request.GET).values_list(*LIST_COLUMNS)
    filtered = any(request.GET.get(name) for name in ("q", "state", "station"))
    page = _list_page(accounts, request.GET.get("page"), filtered=filtered)
    filters = request.GET.copy()
    filters.pop("page", None)
    stations = list(Station.objects.order_by("order", "name"))
    return render(
        request,
        "accounts/manage_list.html",
        {
            "page": page,
            "rows": _account_rows(page.object_list, stations, request.user),
            "filters": filters.urlencode(),
            "states": Account.State.choices,
            "stations": [station for station in stations if station.is_active],
            "query": request.GET,
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_account_new(request):
    require_main_account(request.user)
    unit = request.user.unit
    form = SubAccountCreateForm(_posted(request), unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.create_sub_account(
                unit=unit,
                local_part=form.cleaned_data["local_part"],
                profile=_profile_from(form.cleaned_data),
                stations=form.cleaned_data["stations"],
                actor=request.user,
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("已建立子帳號 %(username)s，設定密碼的驗證信已寄到 %(email)s。")
                % {"username": account.username, "email": account.email},
            )
            return redirect("accounts:manage-list")
    return render(request, "accounts/manage_new.html", {"form": form, "prefix": f"{unit.code}_"})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_account(request, username):
    account = get_managed_account(request.user, username)
    initial = {
        field: getattr(account, field)
        for field in ("full_name", "office", "title", "phone", "email")
    }
    initial["stations"] = [grant.station_id for grant in account.station_grants.all()]
    action = request.POST.get("action", "save")
    data = _posted(request) if action in ("save", "grant") else None
    form = SubAccountProfileForm(data, initial=initial, unit=account.unit)
    if request.method == "POST":
        done = _manage_action(request, account, action, form)
        if done:
            messages.success(request, done)
            return redirect("accounts:manage-account", username=account.username)
    pending_email = account.email_change_requests.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    context = {"form": form, "managed": account, "pending_email": pending_email}
    return render(request, "accounts/manage_account.html", context)


def _manage_action(request, account, action, form) -> str | None:
    """Carry out one button of the edit page; the message to show, or None (form errors)."""
    actor = request.user
    if action == "disable":
        services.disable_account(account=account, actor=actor, request=request)
        return _("已停用 %(username)s；這個帳號已無法登入，登入中的裝置也已登出。") % {
            "username": account.username
        }
    if action == "enable":
        services.enable_account(account=account, actor=actor, request=request)
        return _("已重新啟用 %(username)s。") % {"username": account.username}
    if action == "resend":
        try:
            services.resend_verification(account=account, actor=actor, request=request)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return None
        return _("已補寄驗證信到 %(email)s。") % {"email": account.email}
    if not form.is_valid():
        return None
    services.set_stations(
        account=account,
        stations=form.cleaned_data["stations"],
        among=form.fields["stations"].queryset,
        actor=actor,
        request=request,
    )
    if action == "grant":
        return _("編報站權限已更新。")
    services.update_profile(
        account=account,
        request=request,
        **{field: form.cleaned_data[field] for field in ("full_name", "office", "title", "phone")},
    )
    old_email, new_email = account.email, form.cleaned_data["email"].strip()
    try:
        outcome = services.change_email_for_person(
            account=account, new_email=new_email, actor=actor, request=request
        )
    except ValidationError as error:
        form.add_error("email", error)
        return None
    if outcome != services.EmailChange.UNCHANGED:
        messages.info(
            request, email_change_message(outcome, account.username, old_email, new_email)
        )
    return _("已儲存 %(username)s 的資料。") % {"username": account.username}


def email_change_message(outcome, username, old_email, new_email) -> str:
    """What change_email_for_person did, told to the holder or helpdesk who asked."""
    if outcome == services.EmailChange.APPLIED:
        return _(
            "帳號尚未開通，公務信箱已直接更正為 %(new)s：新的設定密碼連結已寄到新信箱，"
            "先前寄出的連結都已失效，原信箱 %(old)s 也已收到通知。"
        ) % {"new": new_email, "old": old_email}
    return _(
        "確認信已寄到新信箱 %(new)s；須由 %(username)s 本人登入後點選信中的連結才會生效，"
        "在那之前仍使用 %(old)s。原信箱也已收到通知。"
    ) % {"new": new_email, "username": username, "old": old_email}


EXPORT_HEADER = [
    "子帳號",
    "姓名",
    "處室名稱",
    "職稱",
    "電話(分機)",
    "信箱",
    "編報站",
    "狀態",
    "角色",
    "最後登入",
]


def spreadsheet_safe(value) -> str:
    """A cell Excel will not run: text starting with = + - @ (or a tab/CR) gets a leading
    apostrophe, so a name like =HYPERLINK(...) stays text (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@never_cache
@require_GET
def manage_accounts_export(request):
    """All of the unit's accounts as CSV that Excel opens correctly (UTF-8 with BOM)."""
    grants = StationGrant.objects.select_related("station").order_by(
        "station__order", "station__name"
    )
    accounts = _holder_accounts(request.user, {}).prefetch_related(
        Prefetch("station_grants", queryset=grants)
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="accounts-{request.user.unit.code}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(EXPORT_HEADER)
    for account in accounts:
        writer.writerow(
            spreadsheet_safe(cell)
            for cell in [
                account.local_part,
                account.full_name,
                account.office,
                account.title,
                account.phone,
                account.email,
                ";".join(grant.station.slug for grant in account.station_grants.all()),
                account.get_state_display(),
                account.get_role_display(),
                timezone.localtime(account.last_login).strftime("%Y-%m-%d %H:%M")
                if account.last_login
                else "",
            ]
        )
    return response


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_transfer(request):
    require_main_account(request.user)
    form = TransferForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            successor = services.transfer_main_role(
                holder=request.user,
                successor_username=form.cleaned_data["successor"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("主帳號已轉移給 %(name)s（%(username)s）；您的帳號已改為子帳號。")
                % {"name": successor.full_name, "username": successor.username},
            )
            return redirect("home")
    return render(request, "accounts/manage_transfer.html", {"form": form})


# --- CSV import of sub-accounts (SPEC section 6, seed 003) ---------------------------------

IMPORT_RESULT = "accounts_csv_import"


def _csv_download(text, filename):
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_import(request):
    require_main_account(request.user)
    unit = request.user.unit
    form = imports.ImportForm(_posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = imports.import_sub_accounts(
            unit=unit, upload=form.cleaned_data["file"], actor=request.user, request=request
        )
        request.session[IMPORT_RESULT] = result.as_session(unit=unit)
        return redirect("accounts:manage-import-result")
    context = {
        "form": form,
        "english_header": ",".join(imports.COLUMNS),
        "chinese_header": ",".join(imports.CHINESE_HEADER),
        "stations": imports.usable_stations(unit),
        "prefix": f"{unit.code}_",
        "max_rows": imports.MAX_ROWS,
    }
    return render(request, "accounts/manage_import.html", context)


@login_required
@require_GET
def manage_import_template(request):
    require_main_account(request.user)
    return _csv_download(imports.template_csv(request.user.unit), "sub-accounts-template.csv")


def _stored_import(request):
    """The holder's last import in this session, or None (none yet, or of another unit)."""
    require_main_account(request.user)
    stored = request.session.get(IMPORT_RESULT)
    if not stored or stored.get("unit") != request.user.unit_id:
        return None
    return stored


@login_required
@never_cache
@require_GET
def manage_import_result(request):
    stored = _stored_import(request)
    if stored is None:
        messages.info(request, _("目前沒有匯入結果，請先上傳 CSV 檔。"))
        return redirect("accounts:manage-import")
    return render(request, "accounts/manage_import_result.html", {"result": stored})


@login_required
@never_cache
@require_GET
def manage_import_failed(request):
    stored = _stored_import(request)
    if stored is None or not stored["failed"]:
        messages.info(request, _("上次匯入沒有失敗的資料列可以下載。"))
        return redirect("accounts:manage-import")
    return _csv_download(imports.failed_rows_csv(stored), "sub-accounts-failed.csv")

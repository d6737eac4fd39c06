"""The public self-service pages (SPEC section 7): 補寄驗證信, 忘記密碼 (two steps) and
忘記帳號. Each answers the same whether or not what was typed matched anything."""

import math
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.fields import unit_prefix_hint
from accounts.forms import AccountLookupForm, PasswordResetCodeForm, PersonForm
from accounts.normalize import has_unit_prefix
from accounts.services.account_lookup import lookup_accounts
from accounts.services.password_reset import (
    ResetFlow,
    check_password_reset_code,
    finalize_password_reset,
    resend_password_reset_code,
    reset_code_error,
    start_password_reset,
)
from accounts.services.verification_resend import request_verification_resend
from accounts.throttles import address_throttled, key_throttled, render_throttled
from accounts.validators import checklist_context
from portal.http import posted, render_form

RESET_FLOW = "password_reset_flow"


@never_cache
@require_http_methods(["GET", "POST"])
def verify_resend(request):
    form = PersonForm(posted(request))
    # Counted only when well-formed: a typo costs nobody any of the allowance.
    if request.method == "POST" and form.is_valid():
        typed = form.cleaned_data
        if address_throttled(request, "verify-resend") or key_throttled(
            request, "verify-resend", typed["username"]
        ):
            return render_throttled(request)
        request_verification_resend(
            full_name=typed["full_name"],
            username=typed["username"],
            email=typed["email"],
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
        _hint_when_no_unit_prefix(request, typed["username"])
        return redirect("accounts:verify-resend")
    return render_form(request, "accounts/verify_resend.html", form)


@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot(request):
    form = PersonForm(posted(request))
    if request.method == "POST" and form.is_valid():  # counted only when well-formed
        typed = form.cleaned_data
        if address_throttled(request, "password-forgot") or key_throttled(
            request, "password-forgot", typed["username"]
        ):
            return render_throttled(request)
        flow = start_password_reset(
            full_name=typed["full_name"],
            username=typed["username"],
            email=typed["email"],
            request=request,
        )
        request.session[RESET_FLOW] = flow.as_session()
        _hint_when_no_unit_prefix(request, typed["username"])
        return redirect("accounts:password-forgot-code")
    return render_form(request, "accounts/password_forgot.html", form)


def _hint_when_no_unit_prefix(request, username):
    """The same for a match and a miss: it depends on what was typed alone."""
    if not has_unit_prefix(username):
        messages.warning(request, unit_prefix_hint(username))


@sensitive_post_parameters("code", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot_code(request):
    flow = ResetFlow.from_session(request.session.get(RESET_FLOW))
    if flow is None:
        messages.info(request, _("請先填寫姓名、帳號與信箱，系統會寄出驗證碼。"))
        return redirect("accounts:password-forgot")
    if request.method == "POST" and request.POST.get("action") == "resend":
        return _resend_reset_code(request, flow)
    # The account's own rules (history, its name, its side's length) are checked only once
    # the code has passed (finalize_password_reset): before that they would tell whether
    # step 1 matched, and the history rule would test guesses of the current password.
    form = PasswordResetCodeForm(posted(request), account=None)
    if request.method == "POST":
        valid = form.is_valid()
        # Counted when the code will be checked: the captcha passed and the code is eight
        # digits (a mistyped new password still has its code checked, below).
        if captcha_code_checked(form) and (
            address_throttled(request, "password-code")
            or key_throttled(request, "password-code", flow.username)
        ):
            return render_throttled(request)
        if valid:
            try:
                account = finalize_password_reset(
                    flow=flow,
                    code=form.cleaned_data["code"],
                    new_password=form.cleaned_data["new_password1"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                request.session.pop(RESET_FLOW, None)  # gone already if it signed out
                request.session["prefill_username"] = account.username
                messages.success(request, _("密碼已重設！請使用新密碼登入。"))
                return redirect("accounts:login")
        elif captcha_code_checked(form):
            # Every error at once: say whether the code is right too (a wrong one counts).
            code = form.cleaned_data["code"]
            if check_password_reset_code(flow=flow, code=code, request=request) is None:
                form.add_error("code", reset_code_error())
    return render_form(
        request,
        "accounts/password_forgot_code.html",
        form,
        prefix=flow.prefix,
        minutes=settings.PASSWORD_RESET_CODE_MINUTES,
        **reset_countdowns(flow),
        # Only what the visitor typed: the account's own data would tell a match apart.
        **checklist_context(typed_login_name=flow.username),
    )


def reset_countdowns(flow) -> dict:
    """Seed 002's 剩餘時間 beside the code, and the wait before 重寄驗證信 can be pressed
    again: seconds from now (the browser counts down from them, whatever its clock says),
    and the code's end as a time of day for a page without JavaScript."""
    now = timezone.now().timestamp()
    code_ends = flow.sent_at + settings.PASSWORD_RESET_CODE_MINUTES * 60
    resend_from = flow.sent_at + settings.PASSWORD_RESET_RESEND_SECONDS
    return {
        "code_seconds_left": max(0, int(code_ends - now)),
        "code_valid_until": timezone.localtime(datetime.fromtimestamp(code_ends, tz=UTC)),
        "resend_seconds_left": max(0, math.ceil(resend_from - now)),
    }


def captcha_code_checked(form) -> bool:
    return not {"code", "captcha"} & set(form.errors)


def _resend_reset_code(request, flow):
    if address_throttled(request, "password-resend") or key_throttled(
        request, "password-resend", flow.username
    ):
        return render_throttled(request)
    try:
        flow = resend_password_reset_code(flow=flow, request=request)
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
    form = AccountLookupForm(posted(request))
    if request.method == "POST" and form.is_valid():  # counted only when well-formed
        if address_throttled(request, "account-lookup") or key_throttled(
            request, "account-lookup", form.cleaned_data["email"]
        ):
            return render_throttled(request)
        lookup_accounts(
            unit_code=form.cleaned_data["code"],
            email=form.cleaned_data["email"],
            request=request,
        )
        messages.success(
            request,
            _("已受理。如果校代碼與信箱都正確，該信箱在這個單位的帳號清單已寄到該信箱。"),
        )
        return redirect("accounts:account-lookup")
    return render_form(request, "accounts/account_lookup.html", form)

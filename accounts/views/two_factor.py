"""A person's two-factor page (/me/two-factor/): bind an authenticator, see how many
recovery codes are left, regenerate them or unbind; and the page that shows new codes once."""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts import two_factor
from accounts.forms import PasswordAgainForm, TwoFactorBindingForm
from accounts.services.two_factor_setup import (
    confirm_two_factor_binding,
    disable_two_factor,
    regenerate_recovery_codes,
    start_two_factor_binding,
)
from accounts.throttles import key_throttled, render_throttled
from portal.http import next_url, posted, redirect_keeping_next

RECOVERY_CODES_TO_SHOW = "recovery_codes_to_show"


def _show_recovery_codes(request, codes, *, first):
    """Post/redirect/get: the codes wait in the session for the one page that shows them, so
    reloading that page cannot make new codes (and void the ones just printed)."""
    request.session[RECOVERY_CODES_TO_SHOW] = {"codes": codes, "first": first}
    return redirect_keeping_next(request, "accounts:me-two-factor-codes")


@login_required
@never_cache
@require_GET
def me_two_factor_codes(request):
    shown = request.session.pop(RECOVERY_CODES_TO_SHOW, None)
    if shown is None:
        return redirect("accounts:me-two-factor")
    now = timezone.now()
    context = {
        **shown,
        "next": next_url(request),
        "now": now,
        "download": codes_file(request.user, shown["codes"], now),
        "download_name": f"recovery-codes-{request.user.username}.txt",
    }
    return render(request, "accounts/two_factor_recovery_codes.html", context)


def codes_file(account, codes, made_at) -> str:
    """The codes as a text file the page offers for download (a data: address: the codes are
    shown once and kept nowhere, so there is nothing to fetch later)."""
    lines = [
        _("資料填報整合平臺：雙因子認證復原碼"),
        _("帳號：%(username)s") % {"username": account.username},
        _("產生時間：%(when)s")
        % {"when": date_format(timezone.localtime(made_at), "DATETIME_FORMAT")},
        "",
        *(f"{number}. {code}" for number, code in enumerate(codes, start=1)),
        "",
        _("每組復原碼只能使用一次，可在手機不在身邊時代替驗證碼登入。請保存在手機以外的安全地方。"),
    ]
    return "data:text/plain;charset=utf-8," + quote("\r\n".join(lines) + "\r\n")


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
        secret = start_two_factor_binding(account=account)
        form = TwoFactorBindingForm(posted(request))
        if request.method == "POST" and form.is_valid():
            try:
                codes = confirm_two_factor_binding(
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
            "next": next_url(request),
        }
        return render(request, "accounts/me_two_factor_bind.html", context)
    action = request.POST.get("action") if request.method == "POST" else None
    if request.method == "POST" and action not in ("regenerate", "disable"):
        return HttpResponseBadRequest()  # never unbind on a form we did not send
    forms = {
        name: PasswordAgainForm(
            posted(request) if name == action else None, auto_id=f"id_{name}_%s"
        )
        for name in ("regenerate", "disable")
    }
    form = forms.get(action)
    if form is not None and form.is_valid():
        password = form.cleaned_data["password"]
        try:
            if action == "regenerate":
                codes = regenerate_recovery_codes(
                    account=account, password=password, request=request
                )
                return _show_recovery_codes(request, codes, first=False)
            disable_two_factor(account=account, password=password, request=request)
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

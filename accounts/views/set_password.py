"""The set-password page of the mail link (/ckverifycode/<token>/)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import SetPasswordForm
from accounts.services.set_password import find_set_password_token, set_password_from_link
from accounts.validators import checklist_context
from portal.http import posted


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def set_password(request, token):
    found = find_set_password_token(token)
    if found is None:
        context = {"link_hours": settings.SET_PASSWORD_LINK_HOURS}
        return render(request, "accounts/set_password_invalid.html", context, status=404)
    account = found.account
    form = SetPasswordForm(posted(request), account=account)
    if request.method == "POST" and form.is_valid():
        try:
            set_password_from_link(
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
        {"form": form, "account": account, **checklist_context(account=account)},
    )

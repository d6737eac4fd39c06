"""A signed-in person's own pages: profile (/me/), password (/me/password/), e-mail
(/me/email/ and the confirmation link)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import ChangePasswordForm, EmailChangeForm, ProfileForm
from accounts.services.email_change import (
    confirm_email_change,
    find_email_change,
    request_email_change,
)
from accounts.services.password_change import change_password
from accounts.services.profile_change import update_profile
from accounts.services.reauthentication import check_password_again
from accounts.services.sign_in import PASSWORD_CHANGE_REQUIRED
from accounts.throttles import key_throttled, render_throttled
from accounts.validators import checklist_context
from portal.http import next_url, posted, render_form


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me(request):
    account = request.user
    initial = {
        field: getattr(account, field) for field in ("full_name", "office", "title", "phone")
    }
    form = ProfileForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        update_profile(account=account, request=request, **form.cleaned_data)
        messages.success(request, _("個人資料已更新。"))
        return redirect("accounts:me")
    pending_email = account.email_change_requests.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    return render_form(
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
    form = ChangePasswordForm(posted(request), account=request.user)
    if request.method == "POST":
        if form.is_valid():
            # Counted only when well-formed; a mistyped form's current password still goes
            # through the lockout below.
            if key_throttled(request, "password-change", str(request.user.pk)):
                return render_throttled(request)
            try:
                change_password(
                    account=request.user,
                    current_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password1"],
                    request=request,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("密碼已變更，其他裝置上的登入都已結束。"))
                return redirect(next_url(request) or "home")
        elif "old_password" in form.cleaned_data:
            # Every error at once: the current password is checked too (a wrong one counts).
            error = check_password_again(
                account=request.user,
                password=form.cleaned_data["old_password"],
                request=request,
                purpose="password_change",
            )
            if error:
                form.add_error("old_password", error)
    return render_form(
        request,
        "accounts/me_password.html",
        form,
        required=request.session.get(PASSWORD_CHANGE_REQUIRED),
        max_age_days=settings.PASSWORD_MAX_AGE_DAYS,
        next=next_url(request),
        **checklist_context(account=request.user),
    )


@sensitive_post_parameters("password")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def me_email(request):
    form = EmailChangeForm(posted(request), account=request.user)
    if request.method == "POST":
        if form.is_valid():
            # Counted only when well-formed: mistyped addresses use up nothing.
            if key_throttled(request, "email-change", str(request.user.pk)):
                return render_throttled(request)
            new_email = form.cleaned_data["new_email"]
            try:
                request_email_change(
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
            error = check_password_again(
                account=request.user,
                password=form.cleaned_data["password"],
                request=request,
                purpose="email_change",
            )
            if error:
                form.add_error("password", error)
    return render_form(request, "accounts/me_email.html", form)


@never_cache
@require_http_methods(["GET", "POST"])
def email_confirm(request, token):
    """GET shows a button; only the POST changes the address (mail scanners follow links)."""
    change = find_email_change(token)
    if change is None:
        return render(request, "accounts/email_confirm_invalid.html", status=404)
    signed_in_as_account = request.user.is_authenticated and request.user.pk == change.account_id
    if change.needs_the_person and not signed_in_as_account:
        # Asked for by the holder or helpdesk: the person confirms it, signed in.
        return render(request, "accounts/email_confirm_sign_in.html", {"change": change})
    if request.method == "POST":
        try:
            confirm_email_change(
                change=change,
                actor=request.user if request.user.is_authenticated else None,
                request=request,
            )
        except ValidationError:
            return render(request, "accounts/email_confirm_invalid.html", status=404)
        messages.success(request, _("公務信箱已變更為 %(email)s。") % {"email": change.new_email})
        return redirect("accounts:me" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/email_confirm.html", {"change": change})

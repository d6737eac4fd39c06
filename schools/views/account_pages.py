"""The holder's pages for one sub-account: create (/manage/accounts/new/) and edit with its
buttons (save, disable, enable, resend, grant)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.profile import Profile
from accounts.services.account_care import disable_account, enable_account, resend_verification
from accounts.services.email_change import EmailChange, change_email_for_person
from accounts.services.profile_change import update_profile
from portal.http import posted
from schools.access import get_managed_account, require_main_account
from schools.forms import SubAccountCreateForm, SubAccountProfileForm
from schools.services.sub_accounts import create_sub_account, set_stations


def _profile_from(cleaned) -> Profile:
    return Profile(
        full_name=cleaned["full_name"],
        office=cleaned["office"],
        title=cleaned["title"],
        phone=cleaned["phone"],
        email=cleaned["email"],
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_account_new(request):
    require_main_account(request.user)
    unit = request.user.unit
    form = SubAccountCreateForm(posted(request), unit=unit)
    if request.method == "POST" and form.is_valid():
        try:
            account = create_sub_account(
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
            return redirect("schools:manage-list")
    return render(request, "schools/manage_new.html", {"form": form, "prefix": f"{unit.code}_"})


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
    data = posted(request) if action in ("save", "grant") else None
    form = SubAccountProfileForm(data, initial=initial, unit=account.unit)
    if request.method == "POST":
        done = _manage_action(request, account, action, form)
        if done:
            messages.success(request, done)
            return redirect("schools:manage-account", username=account.username)
    pending_email = account.email_change_requests.filter(
        used_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).first()
    context = {"form": form, "managed": account, "pending_email": pending_email}
    return render(request, "schools/manage_account.html", context)


def _manage_action(request, account, action, form) -> str | None:
    """Carry out one button of the edit page; the message to show, or None (form errors)."""
    actor = request.user
    if action == "disable":
        disable_account(account=account, actor=actor, request=request)
        return _("已停用 %(username)s；這個帳號已無法登入，登入中的裝置也已登出。") % {
            "username": account.username
        }
    if action == "enable":
        enable_account(account=account, actor=actor, request=request)
        return _("已重新啟用 %(username)s。") % {"username": account.username}
    if action == "resend":
        try:
            resend_verification(account=account, actor=actor, request=request)
        except ValidationError as error:
            messages.error(request, error.messages[0])
            return None
        return _("已補寄驗證信到 %(email)s。") % {"email": account.email}
    if not form.is_valid():
        return None
    set_stations(
        account=account,
        stations=form.cleaned_data["stations"],
        among=form.fields["stations"].queryset,
        actor=actor,
        request=request,
    )
    if action == "grant":
        return _("編報站權限已更新。")
    update_profile(
        account=account,
        actor=actor,
        request=request,
        **{field: form.cleaned_data[field] for field in ("full_name", "office", "title", "phone")},
    )
    old_email, new_email = account.email, form.cleaned_data["email"].strip()
    try:
        outcome = change_email_for_person(
            account=account, new_email=new_email, actor=actor, request=request
        )
    except ValidationError as error:
        form.add_error("email", error)
        return None
    if outcome != EmailChange.UNCHANGED:
        messages.info(request, EmailChange.told(outcome, account.username, old_email, new_email))
    return _("已儲存 %(username)s 的資料。") % {"username": account.username}

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_changelist import (
    LIST_COLUMNS,
    AccountChangeList,
    CountUpToPaginator,
    account_search,
)
from accounts.models import Account, SecurityEvent
from accounts.profile import normalize_email, normalize_phone, normalize_text
from accounts.security_log import record_security_event
from accounts.services.account_care import (
    care_summary,
    disable_account,
    enable_account,
    locked_until,
    resend_verification,
    reset_account,
    unlock,
)
from accounts.services.email_change import EmailChange, change_email_for_person
from accounts.services.two_factor_setup import reset_two_factor

PROFILE_FIELDS = ["full_name", "office", "title", "phone", "email"]


class AccountAdminForm(forms.ModelForm):
    """Profile fields as every other form stores them (accounts/profile.py)."""

    def clean_full_name(self):
        return normalize_text(self.cleaned_data["full_name"])

    def clean_office(self):
        return normalize_text(self.cleaned_data["office"])

    def clean_title(self):
        return normalize_text(self.cleaned_data["title"])

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Helpdesk's view of accounts: search, lock state, unlock. Helpdesk edits profile fields
    only; passwords, staff and superuser flags, groups and permissions are the superuser's."""

    change_form_template = "admin/accounts/account/change_form.html"
    form = AccountAdminForm
    list_display = LIST_COLUMNS
    list_filter = ["state", "role", "unit__side", "is_staff"]
    list_select_related = ["unit"]
    # The search itself is account_search (get_search_results); this turns the box on.
    search_fields = ["username"]
    search_help_text = gettext_lazy(
        "以帳號、姓名、公務信箱或單位代碼搜尋：含「@」找完整信箱，含「_」找開頭相同的帳號，"
        "其他三個字以上比對帳號、姓名、信箱的任何位置，一、兩個字比對姓名開頭。"
    )
    ordering = ["username"]
    paginator = CountUpToPaginator
    show_full_result_count = False
    actions = [
        "unlock_selected",
        "resend_verification_selected",
        "disable_selected",
        "enable_selected",
        "reset_selected",
        "reset_two_factor_selected",
    ]
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return AccountChangeList

    def action_checkbox(self, obj):
        """Django's checkbox (the same markup), drawn without its form widget's template:
        the widget took a fifth of the list's time."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(account_search(term)), False

    @admin.display(description=gettext_lazy("鎖定至"))
    def locked_until(self, account):
        if hasattr(account, "lock_until"):  # a changelist row (AccountChangeList)
            until = account.lock_until
        else:
            until = locked_until(account.username)
        return date_format(timezone.localtime(until), "Y-m-d H:i") if until else "—"

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["username", "unit", "local_part", "role", "state"]}),
            (_("個人資料"), {"fields": PROFILE_FIELDS}),
            (
                _("時間"),
                {
                    "fields": [
                        "date_joined",
                        "activated_at",
                        "password_changed_at",
                        "last_login",
                        "locked_until",
                    ]
                },
            ),
        ]
        if request.user.is_superuser:
            fieldsets.append(
                (
                    _("管理權限"),
                    {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]},
                )
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fixed = [
            "username",
            "unit",
            "local_part",
            "role",
            "state",
            "date_joined",
            "activated_at",
            "password_changed_at",
            "last_login",
            "locked_until",
        ]
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            # A staff member's e-mail is a way into the admin (forgot password): superusers only.
            return fixed + PROFILE_FIELDS
        return fixed

    def has_add_permission(self, request):
        # Accounts are created through the services (create_main_account, the holder's pages)
        # so that every account gets its set-password mail and security event.
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # people who leave are disabled, never deleted

    def has_unlock_permission(self, request):
        return request.user.has_perm("accounts.unlock_account")

    def save_model(self, request, obj, form, change):
        """Profile fields are saved here; the e-mail never is: it goes through
        change_email_for_person (confirmed by the person, or a pending account corrected
        with a new set-password link), like the holder's change on the /manage/ pages."""
        new_email = None
        if change and "email" in form.changed_data:
            new_email = obj.email
            obj.email = form.initial["email"]
        super().save_model(request, obj, form, change)
        fields = sorted(set(form.changed_data) - {"email"})
        if change and fields:
            record_security_event(
                kind=SecurityEvent.Kind.PROFILE_CHANGED,
                account=obj,
                request=request,
                detail={"fields": fields},
            )
        if new_email is not None:
            self._change_email(request, obj, new_email)

    def _change_email(self, request, account, new_email):
        old_email = account.email
        try:
            outcome = change_email_for_person(
                account=account, new_email=new_email, actor=request.user, request=request
            )
        except ValidationError as error:
            self.message_user(request, error.messages[0], messages.ERROR)
            return
        if outcome != EmailChange.UNCHANGED:
            message = EmailChange.told(outcome, account.username, old_email, new_email)
            self.message_user(request, message, messages.WARNING)

    @admin.action(description=gettext_lazy("解除鎖定所選帳號"), permissions=["unlock"])
    def unlock_selected(self, request, queryset):
        for account in queryset:
            unlock(username=account.username, actor=request.user, request=request)
        self.message_user(
            request, _("已解除 %(count)d 個帳號的鎖定。") % {"count": queryset.count()}
        )

    def _care(self, request, queryset, service, done_message):
        """Run one account-care service per selected account, reporting each refusal."""
        done = 0
        for account in queryset.select_related("unit"):
            if account.is_superuser and not request.user.is_superuser:
                self.message_user(
                    request,
                    _("%(username)s：沒有權限。") % {"username": account.username},
                    messages.ERROR,
                )
                continue
            try:
                service(account=account, actor=request.user, request=request)
            except ValidationError as error:
                self.message_user(
                    request, f"{account.username}：{error.messages[0]}", messages.WARNING
                )
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done})

    @admin.action(description=gettext_lazy("補寄驗證信（待開通帳號）"), permissions=["change"])
    def resend_verification_selected(self, request, queryset):
        self._care(request, queryset, resend_verification, _("已補寄 %(count)d 封驗證信。"))

    @admin.action(description=gettext_lazy("停用所選帳號"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._care(request, queryset, disable_account, _("已停用 %(count)d 個帳號。"))

    @admin.action(description=gettext_lazy("重新啟用所選帳號"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._care(request, queryset, enable_account, _("已重新啟用 %(count)d 個帳號。"))

    @admin.action(
        description=gettext_lazy("重置帳號（停用並釋出帳號給同一人重新申請）"),
        permissions=["change"],
    )
    def reset_selected(self, request, queryset):
        self._care(
            request,
            queryset,
            reset_account,
            _("已重置 %(count)d 個帳號；同一位人員可以用原來的帳號名稱重新建立。"),
        )

    @admin.action(
        description=gettext_lazy("重設雙因子認證（手機與復原碼都遺失）"), permissions=["change"]
    )
    def reset_two_factor_selected(self, request, queryset):
        self._care(
            request,
            queryset,
            reset_two_factor,
            _("已重設 %(count)d 個帳號的雙因子認證，並寄信通知。"),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """One page that answers helpdesk's usual calls: no verification mail (its mails),
        no station icon (grants and consents), locked out (lock state), forgot password
        (recent security events)."""
        account = self.get_object(request, object_id)
        if account is not None:
            extra_context = {**(extra_context or {}), **care_summary(account)}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/unlock/",
                self.admin_site.admin_view(self.unlock_view),
                name="accounts_account_unlock",
            ),
            path(
                "<path:object_id>/reset-two-factor/",
                self.admin_site.admin_view(self.reset_two_factor_view),
                name="accounts_account_reset_two_factor",
            ),
            *super().get_urls(),
        ]

    def unlock_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_unlock_permission(request):
            raise PermissionDenied
        account = get_object_or_404(Account, pk=object_id)
        unlock(username=account.username, actor=request.user, request=request)
        messages.success(
            request,
            _("已解除 %(username)s 的鎖定，可以立即登入。") % {"username": account.username},
        )
        return redirect(reverse("admin:accounts_account_change", args=[account.pk]))

    def reset_two_factor_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        account = get_object_or_404(Account, pk=object_id)
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        self.reset_two_factor_selected(request, Account.objects.filter(pk=account.pk))
        return redirect(reverse("admin:accounts_account_change", args=[account.pk]))


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "username", "actor", "ip_address", "user_agent"]
    list_filter = ["kind"]
    list_select_related = ["actor"]
    search_fields = ["username", "ip_address"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SecurityEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

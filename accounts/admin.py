from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Max, Q, Sum
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.formats import date_format, get_format
from django.utils.functional import cached_property
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.models import Account, OutboundEmail, SecurityEvent, normalize_login_name
from schools.models import Unit

PROFILE_FIELDS = ["full_name", "office", "title", "phone", "email"]
# The changelist's columns (AccountAdmin.list_display), drawn by AccountChangeList.rows.
LIST_COLUMNS = [
    "username",
    "full_name",
    "unit",
    "role",
    "state",
    "locked_until",
    "email",
    "last_login",
]


class CountUpToPaginator(Paginator):
    """Counts the rows up to ``limit`` only (one bounded query, ``COUNT(*)`` over ``LIMIT``),
    never the whole table: at two million accounts counting them all took a parallel scan
    on every page (issue 19). The list then offers the first ``limit`` rows, and ``capped``
    says there are more (the pagination shows it, and asks for a narrower search)."""

    limit = 1000

    @cached_property
    def count(self):
        counted = self.object_list[: self.limit + 1].count()
        self.capped = counted > self.limit
        return min(counted, self.limit)

    capped = False


class AccountChangeList(ChangeList):
    """The lock state of a page's accounts in one query for the page's login names, instead
    of two subqueries per row; and each row's link made without Django's
    add_preserved_filters resolving it against every URL pattern (a third of the page's
    time with 50 rows): the filters to come back to are appended here, the same query
    string Django makes."""

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.row_filters, self.preserved_filters = self.preserved_filters, ""

    def url_for_result(self, result):
        url = super().url_for_result(result)
        return f"{url}?{self.row_filters}" if self.row_filters else url

    def get_results(self, request):
        super().get_results(request)
        accounts = list(self.result_list)  # the page, kept in the queryset's cache
        states = _lock_states([account.username for account in accounts])
        for account in accounts:
            account.lock_until = states.get(account.username)

    def rows(self) -> list[list[SafeString]] | None:
        """The page's rows as Django's items_for_result draws them (the same markup; a test
        compares them), drawn here: Django's per-cell machinery (lookup_field,
        display_for_field, a format_html per cell) was two fifths of the page's time.
        None for a list this does not know how to draw (a popup, other columns)."""
        if (
            self.is_popup
            or getattr(self, "formset", None)
            or list(self.list_display) != ["action_checkbox", *LIST_COLUMNS]
            or list(self.list_display_links) != ["username"]
        ):
            return None
        admin_ = self.model_admin
        empty = admin_.get_empty_value_display()
        roles = dict(Account._meta.get_field("role").flatchoices)
        states = dict(Account._meta.get_field("state").flatchoices)
        # What url_for_result and add_preserved_filters make of every row's link, made once.
        context = {"preserved_filters": self.preserved_filters, "opts": self.opts}
        link = str(add_preserved_filters(context, self.url_for_result(Account(pk=0))))
        head, _zero, tail = link.partition("/0/")
        checkbox_label = _("Select this object for an action - {}")
        datetime_format = get_format("DATETIME_FORMAT")

        def text(value):
            return empty if value is None or str(value).strip() == "" else value

        rows = []
        for account in self.result_list:
            last_login = account.last_login
            row = format_html(
                '<td class="action-checkbox">{}</td>'
                '<th class="field-username"><a href="{}">{}</a></th>'
                '<td class="field-full_name">{}</td>'
                '<td class="field-unit nowrap">{}</td>'
                '<td class="field-role">{}</td>'
                '<td class="field-state">{}</td>'
                '<td class="field-locked_until">{}</td>'
                '<td class="field-email">{}</td>'
                '<td class="field-last_login nowrap">{}</td>',
                # admin_.action_checkbox(account), with its label's template translated once
                format_html(
                    '<input type="checkbox" name="{}" value="{}" class="action-select" '
                    'aria-label="{}">',
                    helpers.ACTION_CHECKBOX_NAME,
                    str(account.pk),
                    mark_safe(checkbox_label.format(escape(str(account)))),  # noqa: S308
                ),
                f"{head}/{quote(account.pk)}/{tail}",
                text(account.username),
                text(account.full_name),
                empty if account.unit is None else account.unit,
                roles.get(account.role, empty),
                states.get(account.state, empty),
                text(admin_.locked_until(account)),
                text(account.email),
                empty
                if last_login is None
                else dateformat.format(timezone.template_localtime(last_login), datetime_format),
            )
            rows.append([row])
        return rows


def _lock_states(usernames) -> dict:
    """When each of these login names' lock ends (locked names only), as
    ``accounts.lockout.lock_state`` decides it for one name: failures within the cool-off
    summed per name, locked from AXES_FAILURE_LIMIT on, until the last failure plus the
    cool-off. (Belongs next to lock_state once the sign-in split of issue 14 lands.)"""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(username__in=usernames, attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    )
    return {
        row["username"]: row["last"] + settings.AXES_COOLOFF_TIME
        for row in rows
        if (row["failures"] or 0) >= settings.AXES_FAILURE_LIMIT
    }


# A term this long or longer is looked for anywhere in login names, names and addresses
# (pg_trgm's trigram indexes need three characters); a shorter one matches names by their
# start (surname, or surname and first given name), from an index on the names too.
SUBSTRING_SEARCH_FROM = 3


def account_search(term: str) -> Q:
    """Helpdesk's search, each kind of term answered by an index of its own on PostgreSQL
    (migration accounts.0017 and the model's own), so its cost does not grow with the
    number of accounts:

    - a unit's code: that unit's accounts (looked up first, one unique-index read; their
      login names start with it);
    - a term with "@": the whole e-mail address, in any case (the lower(email) index);
    - a term with "_": login names that start with it (a whole login name, or a unit code
      and the start of the local part), from the login name's pattern index;
    - any other term of three or more characters: anywhere in the login name, the name or
      the address (trigram indexes, their bitmaps OR-ed: the conditions are on the
      account table alone);
    - one or two characters: names that start with it.

    Whole login names and addresses are not searched by trigram: theirs are shared with
    nearly every account (the unit codes' digits, the schools' mail domain), and reading
    those trigrams' entries took 70-120 ms at two million accounts (issue 19)."""
    if len(term) < SUBSTRING_SEARCH_FROM:
        return Q(full_name__startswith=term)
    units = list(Unit.objects.filter(code=term).values_list("pk", flat=True))
    if units:
        return Q(unit__in=units)
    if "@" in term:
        return Q(Exact(Lower("email"), term.lower()))
    if "_" in term:
        return Q(username__startswith=normalize_login_name(term))
    return (
        Q(username__contains=normalize_login_name(term))
        | Q(full_name__icontains=term)
        | Q(email__icontains=term)
    )


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Helpdesk's view of accounts: search, lock state, unlock. Helpdesk edits profile fields
    only; passwords, staff and superuser flags, groups and permissions are the superuser's."""

    change_form_template = "admin/accounts/account/change_form.html"
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
            until = services.locked_until(account.username)
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
            services.record_security_event(
                kind=SecurityEvent.Kind.PROFILE_CHANGED,
                account=obj,
                request=request,
                detail={"fields": fields},
            )
        if new_email is not None:
            self._change_email(request, obj, new_email)

    def _change_email(self, request, account, new_email):
        from accounts.views import email_change_message

        old_email = account.email
        try:
            outcome = services.change_email_for_person(
                account=account, new_email=new_email, actor=request.user, request=request
            )
        except ValidationError as error:
            self.message_user(request, error.messages[0], messages.ERROR)
            return
        if outcome != services.EmailChange.UNCHANGED:
            message = email_change_message(outcome, account.username, old_email, new_email)
            self.message_user(request, message, messages.WARNING)

    @admin.action(description=gettext_lazy("解除鎖定所選帳號"), permissions=["unlock"])
    def unlock_selected(self, request, queryset):
        for account in queryset:
            services.unlock(username=account.username, actor=request.user, request=request)
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
        self._care(
            request, queryset, services.resend_verification, _("已補寄 %(count)d 封驗證信。")
        )

    @admin.action(description=gettext_lazy("停用所選帳號"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._care(request, queryset, services.disable_account, _("已停用 %(count)d 個帳號。"))

    @admin.action(description=gettext_lazy("重新啟用所選帳號"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._care(request, queryset, services.enable_account, _("已重新啟用 %(count)d 個帳號。"))

    @admin.action(
        description=gettext_lazy("重置帳號（停用並釋出帳號給同一人重新申請）"),
        permissions=["change"],
    )
    def reset_selected(self, request, queryset):
        self._care(
            request,
            queryset,
            services.reset_account,
            _("已重置 %(count)d 個帳號；同一位人員可以用原來的帳號名稱重新建立。"),
        )

    @admin.action(
        description=gettext_lazy("重設雙因子認證（手機與復原碼都遺失）"), permissions=["change"]
    )
    def reset_two_factor_selected(self, request, queryset):
        self._care(
            request,
            queryset,
            services.reset_two_factor,
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
        services.unlock(username=account.username, actor=request.user, request=request)
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


def care_summary(account) -> dict:
    from stations.models import Consent, StationGrant

    consents = {c.station_id: c for c in Consent.objects.filter(account=account, revoked_at=None)}
    stations = [
        {
            "grant": grant,
            "consent": consents.get(grant.station_id)
            if consents.get(grant.station_id) and consents[grant.station_id].covers(grant.station)
            else None,
        }
        for grant in StationGrant.objects.filter(account=account).select_related(
            "station", "granted_by"
        )
    ]
    return {
        "care_mails": OutboundEmail.objects.filter(account=account).order_by("-created_at")[:10],
        "care_stations": stations,
        "care_lock": services.lock_state(account.username),
        "care_two_factor": account.two_factor_device,
        "care_recovery_codes_left": account.recovery_codes.filter(used_at=None).count(),
        "care_events": SecurityEvent.objects.filter(account=account).select_related("actor")[:15],
    }


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "to_address",
        "subject",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind"]
    list_select_related = ["account"]
    search_fields = ["to_address", "subject", "account__username", "message_id"]
    date_hierarchy = "created_at"
    actions = ["resend_selected"]
    fields = [
        "kind",
        "account",
        "to_address",
        "subject",
        "body",
        "status",
        "attempts",
        "unconfirmed_sends",
        "last_error",
        "message_id",
        "created_at",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "body_cleared_at",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("內文"))
    def body(self, row):
        if row.carries_secret:
            # Links and codes are the person's alone: helpdesk never sees them.
            return _("（含一次性的連結或驗證碼，不在後台顯示。）")
        return row.body_text

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm("accounts.resend_outboundemail")

    @admin.action(description=gettext_lazy("重寄所選信件"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        for row in queryset:
            try:
                services.resend_outbound_email(
                    outbound_email=row, actor=request.user, request=request
                )
            except ValidationError as error:
                self.message_user(
                    request, f"#{row.pk} {row.to_address}：{error.messages[0]}", messages.WARNING
                )
            else:
                self.message_user(request, _("#%(id)d 已重新排入寄送。") % {"id": row.pk})


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

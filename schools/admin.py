from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from schools.models import (
    AccountReview,
    MainAccountApplication,
    SubAccountRequest,
    Unit,
    UnitReview,
)
from schools.services import account_review, applications, review_cycle


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "side"]
    list_filter = ["side"]
    search_fields = ["code", "name"]


APPLICATION_FIELDS = [
    "needs_attention",
    "unit",
    "unit_name",
    "current_main_account",
    "local_part",
    "username",
    "full_name",
    "title",
    "office",
    "phone",
    "email",
    "status",
    "created_at",
    "decided_at",
    "decided_by",
    "rejection_reason",
    "account",
]


@admin.register(MainAccountApplication)
class MainAccountApplicationAdmin(admin.ModelAdmin):
    """Helpdesk approves or rejects main-account applications; nothing else is editable.
    Approval goes through create_main_account, so the account gets its set-password mail."""

    change_form_template = "schools/admin/application_change_form.html"
    list_display = [
        "id",
        "created_at",
        "unit",
        "unit_name",
        "full_name",
        "local_part",
        "status",
        "needs_attention",
    ]
    list_filter = ["status", "unit__side", ("needs_attention", admin.EmptyFieldListFilter)]
    list_select_related = ["unit"]
    search_fields = [
        "unit__code",
        "unit__name",
        "unit_name",
        "full_name",
        "local_part",
        "email",
        "phone",
    ]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    actions = ["approve_selected", "reject_selected"]
    fields = APPLICATION_FIELDS
    readonly_fields = APPLICATION_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("unit", "decided_by", "account")

    @admin.display(description=gettext_lazy("登入帳號"))
    def username(self, application):
        return application.username

    @admin.display(description=gettext_lazy("單位目前的主帳號"))
    def current_main_account(self, application):
        main = Account.objects.filter(unit_id=application.unit_id, role=Account.Role.MAIN).first()
        if main is None:
            return _("（尚無）")
        return f"{main.username} {main.full_name}（{main.get_state_display()}）"

    def has_add_permission(self, request):
        return False  # applications come from /apply/

    def has_change_permission(self, request, obj=None):
        return False  # read-only; decisions go through the actions and buttons

    def has_delete_permission(self, request, obj=None):
        return False

    def has_decide_permission(self, request):
        return request.user.has_perm("schools.decide_mainaccountapplication")

    # --- Deciding ---------------------------------------------------------------------------

    def _approve(self, request, application) -> bool:
        try:
            account = applications.approve_application(
                application=application, actor=request.user, request=request
            )
        except ValidationError as error:
            self.message_user(
                request,
                _("無法核准 %(unit)s %(name)s 的申請：%(reasons)s")
                % {
                    "unit": application.unit.code,
                    "name": application.full_name,
                    "reasons": "；".join(error.messages),
                },
                messages.ERROR,
            )
            return False
        self.message_user(
            request,
            _("已核准 %(unit)s %(name)s 的申請：主帳號 %(username)s 已建立，設定密碼信已寄出。")
            % {
                "unit": application.unit.code,
                "name": application.full_name,
                "username": account.username,
            },
            messages.SUCCESS,
        )
        return True

    def _reject(self, request, application, reason) -> bool:
        try:
            applications.reject_application(
                application=application, actor=request.user, reason=reason, request=request
            )
        except ValidationError as error:
            self.message_user(
                request,
                _("無法退回 %(unit)s %(name)s 的申請：%(reasons)s")
                % {
                    "unit": application.unit.code,
                    "name": application.full_name,
                    "reasons": "；".join(error.messages),
                },
                messages.ERROR,
            )
            return False
        self.message_user(
            request,
            _("已退回 %(unit)s %(name)s 的申請，並寄信通知申請人。")
            % {"unit": application.unit.code, "name": application.full_name},
            messages.SUCCESS,
        )
        return True

    @admin.action(description=gettext_lazy("核准"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        for application in queryset.select_related("unit"):
            self._approve(request, application)

    @admin.action(
        description=gettext_lazy("退回（原因：資料不完整或無法確認，請來電客服）"),
        permissions=["decide"],
    )
    def reject_selected(self, request, queryset):
        for application in queryset.select_related("unit"):
            self._reject(request, application, "")  # the default reason

    def get_urls(self):
        return [
            path(
                "<path:object_id>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="schools_mainaccountapplication_approve",
            ),
            path(
                "<path:object_id>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="schools_mainaccountapplication_reject",
            ),
            *super().get_urls(),
        ]

    def _decision_target(self, request, object_id):
        if request.method != "POST":
            return None
        if not self.has_decide_permission(request):
            raise PermissionDenied
        return get_object_or_404(
            MainAccountApplication.objects.select_related("unit"), pk=object_id
        )

    def approve_view(self, request, object_id):
        application = self._decision_target(request, object_id)
        if application is None:
            return HttpResponseNotAllowed(["POST"])
        self._approve(request, application)
        return redirect(reverse("admin:schools_mainaccountapplication_change", args=[object_id]))

    def reject_view(self, request, object_id):
        application = self._decision_target(request, object_id)
        if application is None:
            return HttpResponseNotAllowed(["POST"])
        self._reject(request, application, request.POST.get("reason", ""))
        return redirect(reverse("admin:schools_mainaccountapplication_change", args=[object_id]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_decide": self.has_decide_permission(request),
            "default_reason": applications.default_rejection_reason(),
        }
        return super().change_view(request, object_id, form_url, extra_context)


# --- The yearly account review (issue 18) -------------------------------------------------


class AccountReviewForm(forms.ModelForm):
    class Meta:
        model = AccountReview
        fields = ["side", "starts_on", "ends_on"]

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(name) for name in ("side", "starts_on", "ends_on")):
            for field, messages_ in review_cycle.review_problems(
                side=cleaned["side"], starts_on=cleaned["starts_on"], ends_on=cleaned["ends_on"]
            ).items():
                for message in messages_:
                    self.add_error(field, message)
        return cleaned


@admin.register(AccountReview)
class AccountReviewAdmin(admin.ModelAdmin):
    """Helpdesk or a superuser opens a side's yearly review (by default 8/1 for 30 days);
    each unit's progress and deadline are on 單位審核進度 (UnitReviewAdmin)."""

    form = AccountReviewForm
    list_display = ["__str__", "side", "starts_on", "ends_on", "opened_by", "closed_at", "units"]
    list_filter = ["side"]
    list_select_related = ["opened_by"]

    def get_changeform_initial_data(self, request):
        starts_on, ends_on = review_cycle.default_review_dates()
        return {"starts_on": starts_on, "ends_on": ends_on, "side": Unit.Side.SCHOOL}

    def get_readonly_fields(self, request, obj=None):
        return ["side", "starts_on", "ends_on"] if obj is not None else []

    @admin.display(description=gettext_lazy("各單位進度"))
    def units(self, review):
        url = reverse("admin:schools_unitreview_changelist") + f"?review__id__exact={review.pk}"
        return format_html('<a href="{}">{}</a>', url, _("查看各單位"))

    def has_change_permission(self, request, obj=None):
        return False  # dates are fixed once open; a unit gets more time on its own row

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        review = review_cycle.open_review(
            side=form.cleaned_data["side"],
            starts_on=form.cleaned_data["starts_on"],
            ends_on=form.cleaned_data["ends_on"],
            actor=request.user,
            request=request,
        )
        obj.pk = review.pk
        obj.refresh_from_db()


class UnitReviewForm(forms.ModelForm):
    class Meta:
        model = UnitReview
        fields = ["deadline"]

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        stored = UnitReview.objects.get(pk=self.instance.pk)
        if deadline != stored.deadline:
            problem = review_cycle.deadline_problem(stored, deadline)
            if problem:
                raise ValidationError(problem)
        return deadline


@admin.register(UnitReview)
class UnitReviewAdmin(admin.ModelAdmin):
    """Where each unit stands in the review; helpdesk extends a unit's deadline here."""

    form = UnitReviewForm
    list_display = ["unit", "review", "holder", "done", "left", "deadline", "closed_at"]
    list_filter = ["review", ("closed_at", admin.EmptyFieldListFilter), "unit__side"]
    search_fields = ["unit__code", "unit__name"]
    list_select_related = ["unit", "review"]
    fields = [
        "unit",
        "review",
        "holder",
        "done",
        "left",
        "deadline",
        "extended_at",
        "extended_by",
        "reminded_week_before_at",
        "reminded_last_day_at",
        "closed_at",
    ]
    readonly_fields = [name for name in fields if name != "deadline"]

    def get_queryset(self, request):
        holders = Account.objects.filter(unit=OuterRef("unit"), role=Account.Role.MAIN)
        return account_review.with_progress(
            super().get_queryset(request).select_related("unit", "review", "extended_by")
        ).annotate(holder_name=Subquery(holders.values("full_name")[:1]))

    @admin.display(description=gettext_lazy("主帳號負責人"))
    def holder(self, unit_review):
        return unit_review.holder_name or _("（無主帳號）")

    @admin.display(description=gettext_lazy("已確認"), ordering="done")
    def done(self, unit_review):
        return unit_review.done

    @admin.display(description=gettext_lazy("未確認"), ordering="left")
    def left(self, unit_review):
        return unit_review.left

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if "deadline" in form.changed_data:
            review_cycle.extend_deadline(
                unit_review=UnitReview.objects.get(pk=obj.pk),
                deadline=form.cleaned_data["deadline"],
                actor=request.user,
                request=request,
            )


@admin.register(SubAccountRequest)
class SubAccountRequestAdmin(admin.ModelAdmin):
    """Helpdesk reads the sub-account requests (a teacher calls: "I asked, nothing came");
    the unit's holder decides them on /manage/requests/."""

    list_display = ["created_at", "unit", "full_name", "local_part", "email", "status"]
    list_filter = ["status"]
    search_fields = ["unit__code", "unit__name", "full_name", "local_part", "email"]
    list_select_related = ["unit"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

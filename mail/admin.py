from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mail.models import OutboundEmail
from mail.resend import resend_outbound_email


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
        return request.user.has_perm("mail.resend_outboundemail")

    @admin.action(description=gettext_lazy("重寄所選信件"), permissions=["resend"])
    def resend_selected(self, request, queryset):
        for row in queryset:
            try:
                resend_outbound_email(outbound_email=row, actor=request.user, request=request)
            except ValidationError as error:
                self.message_user(
                    request, f"#{row.pk} {row.to_address}：{error.messages[0]}", messages.WARNING
                )
            else:
                self.message_user(request, _("#%(id)d 已重新排入寄送。") % {"id": row.pk})

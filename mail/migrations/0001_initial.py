# The outbox moved here from the accounts app (issue 14): accounts.0017 renamed its table to
# mail_outboundemail with every row; this migration only creates the model's state, and moves
# the content type, so the permissions granted on it (helpdesk's view and resend) and the
# admin's history stay with it.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import mail.models


def move_content_type(apps, schema_editor, source="accounts", target="mail"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    moving = ContentType.objects.filter(app_label=source, model="outboundemail").first()
    if moving is None:
        return  # a fresh database: the content type is created after the migrations
    existing = ContentType.objects.filter(app_label=target, model="outboundemail").first()
    if existing is None:
        moving.app_label = target
        moving.save(update_fields=["app_label"])
        return
    # One made for the target already (post_migrate after an earlier partial run): merge into
    # it, keeping every grant of the old permissions and the admin's history.
    for old in Permission.objects.filter(content_type=moving):
        new = Permission.objects.filter(content_type=existing, codename=old.codename).first()
        if new is None:
            old.content_type = existing
            old.save(update_fields=["content_type"])
            continue
        for group in old.group_set.all():
            group.permissions.add(new)
        for user in old.user_set.all():
            user.user_permissions.add(new)
        old.delete()
    LogEntry.objects.filter(content_type=moving).update(content_type=existing)
    moving.delete()


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="mail", target="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0017_outbox_moves_to_mail"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="OutboundEmail",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=50, verbose_name="信件種類")),
                        ("to_address", models.EmailField(max_length=254, verbose_name="收件人")),
                        ("subject", models.CharField(max_length=200, verbose_name="主旨")),
                        ("body_text", models.TextField(verbose_name="內文")),
                        ("body_html", models.TextField(blank=True, verbose_name="HTML 內文")),
                        ("carries_secret", models.BooleanField(default=False, verbose_name="含連結或驗證碼")),
                        ("status", models.CharField(choices=[("queued", "等待寄送"), ("sending", "寄送中"), ("sent", "已寄出"), ("failed", "寄送失敗")], default="queued", max_length=10, verbose_name="狀態")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="嘗試次數")),
                        ("unconfirmed_sends", models.PositiveSmallIntegerField(default=0, verbose_name="未確認的寄送次數")),
                        ("message_id", models.CharField(default=mail.models.new_message_id, max_length=255, verbose_name="Message-ID")),
                        ("last_error", models.TextField(blank=True, verbose_name="最後錯誤")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="建立時間")),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="下次寄送")),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="寄出時間")),
                        ("body_cleared_at", models.DateTimeField(blank=True, null=True, verbose_name="內文清除時間")),
                        ("account", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="outbound_emails", to=settings.AUTH_USER_MODEL, verbose_name="帳號")),
                    ],
                    options={
                        "verbose_name": "寄件匣",
                        "verbose_name_plural": "寄件匣",
                        "ordering": ["-created_at", "-id"],
                        "permissions": [("resend_outboundemail", "可重寄信件")],
                        "indexes": [
                            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
                            models.Index(fields=["account", "-created_at"], name="outbox_account_recent"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(condition=models.Q(("message_id", ""), _negated=True), fields=("message_id",), name="outbox_one_row_per_message_id"),
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]

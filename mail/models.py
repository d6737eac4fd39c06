"""The outbox: every mail the portal sends is a row here first (mail/messages.py writes it),
then a Celery task delivers it after the transaction commits (mail/outbox.py)."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_message_id() -> str:
    """A Message-ID for one outbox row, on the platform's mail domain (RFC 5322 3.6.4)."""
    return f"<{secrets.token_hex(16)}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"


class OutboundEmail(models.Model):
    """The outbox: every mail is a row first, then the Celery task sends it after commit.

    The row's Message-ID goes out on every try, so a mail sent twice (its first try could not
    be confirmed) can be recognised as one by the relay and the mailbox."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("等待寄送")
        SENDING = "sending", _("寄送中")
        SENT = "sent", _("已寄出")
        FAILED = "failed", _("寄送失敗")

    kind = models.CharField(_("信件種類"), max_length=50)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("帳號"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbound_emails",
    )
    to_address = models.EmailField(_("收件人"), max_length=254)
    subject = models.CharField(_("主旨"), max_length=200)
    body_text = models.TextField(_("內文"))
    body_html = models.TextField(_("HTML 內文"), blank=True)
    carries_secret = models.BooleanField(_("含連結或驗證碼"), default=False)
    status = models.CharField(
        _("狀態"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("嘗試次數"), default=0)
    # Tries that may have delivered without the relay confirming it (the worker was lost, or
    # the end of DATA went unanswered). After one such try the mail goes once more at most.
    unconfirmed_sends = models.PositiveSmallIntegerField(_("未確認的寄送次數"), default=0)
    message_id = models.CharField("Message-ID", max_length=255, default=new_message_id)
    last_error = models.TextField(_("最後錯誤"), blank=True)
    created_at = models.DateTimeField(_("建立時間"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("下次寄送"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("寄出時間"), null=True, blank=True)
    body_cleared_at = models.DateTimeField(_("內文清除時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("寄件匣")
        verbose_name_plural = _("寄件匣")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["account", "-created_at"], name="outbox_account_recent"),
        ]
        constraints = [
            # One row, one Message-ID: a mailbox dropping repeats by Message-ID must never
            # drop a different mail. Rows sent before Message-IDs were kept have none.
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="outbox_one_row_per_message_id",
            ),
        ]
        permissions = [("resend_outboundemail", _("可重寄信件"))]

    def __str__(self):
        return f"{self.subject} → {self.to_address}"

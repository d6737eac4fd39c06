"""Helpdesk's resend of an outbox row (the admin's 重寄所選信件)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from accounts.services.set_password import issue_set_password_link
from mail import messages, outbox
from mail.models import OutboundEmail, new_message_id

Kind = SecurityEvent.Kind
# Mails whose secret is a set-password link: a resend issues a fresh link instead.
SET_PASSWORD_MAILS = ("account_created", "verification_resent")


def resend_outbound_email(*, outbound_email: OutboundEmail, actor, request=None) -> OutboundEmail:
    """Helpdesk resend. A set-password mail is resent with a fresh link (the old body is
    cleared and helpdesk never sees links); other mails with a one-time secret cannot be
    resent (the person asks again); a failed plain mail is queued again, a sent one copied."""
    if outbound_email.status in (OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING):
        raise ValidationError(_("這封信還在寄送中。"))
    account = outbound_email.account
    with transaction.atomic():
        if outbound_email.carries_secret:
            if (
                outbound_email.kind not in SET_PASSWORD_MAILS
                or account is None
                or account.state != Account.State.PENDING
            ):
                raise ValidationError(
                    _(
                        "這封信含一次性的驗證碼或連結，無法重寄；請使用者重新申請（忘記密碼、變更信箱等）。"
                    )
                )
            row = messages.verification_resent(
                account=account, link=issue_set_password_link(account=account)
            )
        elif outbound_email.status == OutboundEmail.Status.FAILED:
            # A deliberate resend is a new message: under the old Message-ID a mailbox that
            # got the first try would drop it as a repeat. (The automatic resends keep it.)
            row = outbound_email
            row.status = OutboundEmail.Status.QUEUED
            row.attempts = row.unconfirmed_sends = 0
            row.next_attempt_at = timezone.now()
            row.message_id = new_message_id()
            row.save(
                update_fields=[
                    "status",
                    "attempts",
                    "unconfirmed_sends",
                    "next_attempt_at",
                    "message_id",
                ]
            )
            transaction.on_commit(lambda: outbox.dispatch(row.pk))
        else:
            row = OutboundEmail.objects.create(
                kind=outbound_email.kind,
                account=account,
                to_address=outbound_email.to_address,
                subject=outbound_email.subject,
                body_text=outbound_email.body_text,
                body_html=outbound_email.body_html,
            )
            transaction.on_commit(lambda: outbox.dispatch(row.pk))
        record_security_event(
            kind=Kind.MAIL_RESENT,
            account=account,
            actor=actor,
            request=request,
            detail={"outbound_email": row.pk, "kind": row.kind, "resent_from": outbound_email.pk},
        )
    return row

"""Delivering the outbox: each row is handed to Celery after its transaction commits
(``dispatch``), sent at most twice under its own Message-ID (``deliver_outbound_email``),
retried with backoff, and swept when the broker never delivered it or its worker was lost
(``sweep_outbox``). Which mails go, and when, is decided by the services that write the rows
(mail/messages.py); this module only delivers them."""

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from mail.backends import DeliveryUnconfirmed
from mail.models import OutboundEmail
from portal import queue

logger = logging.getLogger(__name__)

SEND_TASK = "mail.tasks.send_outbound_email"


def dispatch(outbound_email_id: int) -> None:
    """Hand a row to Celery. If the broker is down or hangs the row stays queued and the
    outbox sweep (Celery beat, or ``manage.py sweep_outbox``) sends it later: the request
    still succeeds. After one failure the broker's circuit breaker opens and the next
    hand-offs (the other rows of a CSV import, other requests) do not try for a while."""
    refused = queue.publish(SEND_TASK, args=(outbound_email_id,))
    if refused == queue.CIRCUIT_OPEN:
        logger.info("broker circuit open; outbox row %s waits for the sweep", outbound_email_id)
    elif refused:
        logger.warning(
            "broker unavailable; outbox row %s waits for the sweep (%s)", outbound_email_id, refused
        )


SWEEP_GRACE = timedelta(minutes=2)
CLAIM_TOLERANCE = timedelta(seconds=5)
CLEARED_BODY = gettext_lazy("（此信含一次性的連結或驗證碼，寄出或寄送失敗後內容已清除。）")
UNCONFIRMED_TWICE = gettext_lazy(
    "兩次寄送都無法確認郵件伺服器是否收到（未回應或寄送中斷），不再自動重寄；"
    "請向收件人確認是否收到後再重寄。"
)
LOST_ONCE = gettext_lazy(
    "寄送中斷（工作程序停止或資料庫中斷），無法確認是否寄出；以同一信件識別碼自動重寄一次。"
)
COMPOSE_FAILED = gettext_lazy("程式無法組成這封信，未寄出，也不會自動重寄；請通知系統管理員。")
# What deliver_outbound_email says when its claim on the row no longer stood at the end.
CLAIM_LOST = "claim_lost"
# Enhanced status codes (RFC 3463) that speak of the recipient: its address (5.1.x, save
# 5.1.7 and 5.1.8, which are the sender's) or its mailbox (5.2.x).
ENHANCED_STATUS = re.compile(rb"\s*5\.(\d{1,3})\.(\d{1,3})(?!\d)")


def retry_delays() -> tuple[int, ...]:
    """Seconds before the 2nd, 3rd, ... try (settings.OUTBOX_RETRY_DELAYS)."""
    return tuple(settings.OUTBOX_RETRY_DELAYS)


def sending_lease() -> timedelta:
    """How long a row may stay "sending" before its worker counts as lost."""
    return timedelta(seconds=settings.OUTBOX_SENDING_LEASE)


@dataclass(frozen=True)
class Delivery:
    status: str
    retry_in: int | None = None


def _refuses_the_recipient(code: int, message: bytes) -> bool:
    if code < 500:
        return False
    enhanced = ENHANCED_STATUS.match(message or b"")
    if enhanced is None:
        return True  # a bare 550 to RCPT: no such mailbox
    subject, detail = int(enhanced[1]), int(enhanced[2])
    return subject == 2 or (subject == 1 and detail not in (7, 8))


def _is_permanent(error: Exception) -> bool:
    """Only the recipient's own refusal is final: RCPT answered 5xx about that address or
    mailbox. A refused sender (MAIL FROM), a refused login, a policy or relay refusal (5.7.x,
    also at RCPT), DATA refused, a 4xx, a timeout or a lost connection is the relay's or
    ours to fix, and every other mail meets it too: those are retried and swept."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(
            _refuses_the_recipient(code, message) for code, message in error.recipients.values()
        )
    return False


def _final(row: OutboundEmail, **fields) -> dict:
    """A row's final state; a body that carried a secret is cleared either way."""
    if row.carries_secret:
        fields.update(body_text=str(CLEARED_BODY), body_html="", body_cleared_at=timezone.now())
    return fields


def _close(row: OutboundEmail, **fields) -> bool:
    """Record a worker's outcome, only while its claim stands: the row still "sending" under
    the claimed_at it set. A worker that outlived the lease (no hard time limit: eager mode,
    a solo or threads pool, clock skew) finds the sweep gave the row to another and records
    nothing over it."""
    if OutboundEmail.objects.filter(
        pk=row.pk, status=OutboundEmail.Status.SENDING, claimed_at=row.claimed_at
    ).update(**fields):
        return True
    logger.warning(
        "outbox %s: the claim of %s no longer stands (the sweep counted this worker as lost); "
        "its outcome (%s) is not recorded",
        row.pk,
        row.claimed_at.isoformat(),
        fields.get("status"),
    )
    return False


def _finish(row: OutboundEmail, **fields) -> bool:
    return _close(row, **_final(row, **fields))


def _compose(row: OutboundEmail) -> EmailMultiAlternatives:
    """The message for a row: the same Message-ID on every try of it."""
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        headers={"Message-ID": row.message_id, "X-Portal-Outbox-Id": str(row.pk)},
        connection=get_connection(fail_silently=False),
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def deliver_outbound_email(*, outbound_email_id: int) -> Delivery:
    """Send one outbox row; it reaches the relay at most twice, always under its Message-ID.

    The row is claimed with a conditional UPDATE (queued and due → sending, claimed_at
    set), so two workers, a retry and the sweep can never both send it, and the outcome is
    recorded only while that claim stands (_close). Until the row is finished it stays
    "sending": if this process dies or loses its database meanwhile, the sweep sends it once
    more after the lease (sweep_outbox). Errors before the relay took the message
    put it back in the queue with a delay (retry_delays()); after the last try, or at once
    when the relay refuses the recipient, it is marked failed with the reason. A message the
    relay took without answering may have been delivered: it is tried once more at most.
    """
    now = timezone.now()
    claimed = OutboundEmail.objects.filter(
        pk=outbound_email_id,
        status=OutboundEmail.Status.QUEUED,
        next_attempt_at__lte=now + CLAIM_TOLERANCE,
    ).update(status=OutboundEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Delivery(status="skipped")
    row = OutboundEmail.objects.get(pk=outbound_email_id)
    composed = False
    try:
        message = _compose(row)
        composed = True
        message.send()
    except DatabaseError:
        # The database went away after the claim: the row stays "sending" and the sweep
        # sends it once more after the lease.
        raise
    except (DeliveryUnconfirmed, SoftTimeLimitExceeded) as error:
        # The relay may hold the message (unanswered end of DATA; the task's soft time
        # limit, which can fall anywhere in the dialogue).
        return _after_unconfirmed_send(row, f"{type(error).__name__}: {error}"[:2000])
    except (smtplib.SMTPException, OSError) as error:
        reason = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts > len(retry_delays()) or _is_permanent(error):
            if not _finish(row, status=OutboundEmail.Status.FAILED, last_error=reason):
                return Delivery(status=CLAIM_LOST)
            logger.warning(
                "outbox %s failed for good after %s tries: %s", row.pk, row.attempts, reason
            )
            return Delivery(status=OutboundEmail.Status.FAILED)
        return _retry_later(row, last_error=reason)
    except Exception as error:
        # A bug, not a network problem: it would meet every try. Fail the row at once with
        # the reason, never leave it claimed, never send it again.
        logger.exception(
            "outbox %s: a bug while %s", row.pk, "sending" if composed else "composing"
        )
        reason = f"{type(error).__name__}: {error}"
        if not composed:
            reason = f"{COMPOSE_FAILED} {reason}"
        if not _finish(row, status=OutboundEmail.Status.FAILED, last_error=reason[:2000]):
            return Delivery(status=CLAIM_LOST)
        return Delivery(status=OutboundEmail.Status.FAILED)
    if not _finish(row, status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""):
        return Delivery(status=CLAIM_LOST)
    return Delivery(status=OutboundEmail.Status.SENT)


def _retry_later(row: OutboundEmail, **fields) -> Delivery:
    delay = retry_delays()[row.attempts - 1]
    if not _close(
        row,
        status=OutboundEmail.Status.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        **fields,
    ):
        return Delivery(status=CLAIM_LOST)  # no retry: the row is another worker's now
    return Delivery(status=OutboundEmail.Status.QUEUED, retry_in=delay)


def _after_unconfirmed_send(row: OutboundEmail, reason: str) -> Delivery:
    """The relay holds the message but never said so. Once, try again (same Message-ID, so
    a repeat can be recognised); a second time, or after the last try, stop and say why."""
    if row.unconfirmed_sends or row.attempts > len(retry_delays()):
        if not _finish(
            row,
            status=OutboundEmail.Status.FAILED,
            unconfirmed_sends=F("unconfirmed_sends") + 1,
            last_error=f"{UNCONFIRMED_TWICE} {reason}"[:2000],
        ):
            return Delivery(status=CLAIM_LOST)
        logger.warning("outbox %s: no confirmation from the relay, given up: %s", row.pk, reason)
        return Delivery(status=OutboundEmail.Status.FAILED)
    return _retry_later(row, unconfirmed_sends=F("unconfirmed_sends") + 1, last_error=reason)


def sweep_outbox(now=None) -> dict[str, int]:
    """Send what is due and was never delivered (broker down, eager mode's retries): oldest
    first, each row at most once per grace period. A row still "sending" after the lease
    lost its worker (killed, or its database went away) and whether it went out is unknown:
    it is sent once more under the same Message-ID, and given up with a reason for helpdesk
    when that try is lost or unanswered too."""
    now = now or timezone.now()
    resent, given_up = [], 0
    lost = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.SENDING, claimed_at__lt=now - sending_lease()
    ).only("pk", "claimed_at", "unconfirmed_sends", "carries_secret")
    for row in lost:
        # Conditional on the claim seen, so two sweeps never both act on the same row.
        same_claim = OutboundEmail.objects.filter(
            pk=row.pk, status=OutboundEmail.Status.SENDING, claimed_at=row.claimed_at
        )
        if row.unconfirmed_sends:
            given_up += same_claim.update(
                **_final(
                    row,
                    status=OutboundEmail.Status.FAILED,
                    unconfirmed_sends=F("unconfirmed_sends") + 1,
                    last_error=str(UNCONFIRMED_TWICE),
                )
            )
        elif same_claim.update(
            status=OutboundEmail.Status.QUEUED,
            unconfirmed_sends=F("unconfirmed_sends") + 1,
            next_attempt_at=now,
            last_error=str(LOST_ONCE),
        ):
            resent.append(row.pk)
    overdue = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED, next_attempt_at__lt=now - SWEEP_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    # Due now, and not picked again by the next sweep until another grace period passes.
    OutboundEmail.objects.filter(pk__in=overdue, status=OutboundEmail.Status.QUEUED).update(
        next_attempt_at=now
    )
    for pk in resent + overdue:
        dispatch(pk)
    return {"requeued": len(overdue), "resent": len(resent), "given_up": given_up}

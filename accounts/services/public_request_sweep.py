"""The sweep of the public form requests kept while the broker could not take them
(public_requests.py): each is matched exactly once, as its task would have done."""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts import two_factor
from accounts.models import PendingPublicRequest
from accounts.services.account_lookup import send_account_list
from accounts.services.password_reset import (
    send_password_reset_code,
    send_password_reset_code_again,
)
from accounts.services.public_requests import PendingKind
from accounts.services.verification_resend import send_verification_resend
from schools.services.sub_account_requests import submit_sub_account_request

logger = logging.getLogger(__name__)


NO_STEP_ONE_CODE = "its step 1 produced no code"


class _NotYet(Exception):
    """A resend whose step 1 has produced no code yet (its task may still be on its way)."""


def _resend_reset_code(**fields) -> None:
    if not send_password_reset_code_again(**fields):
        raise _NotYet


# What the sweep runs for each kind: the service the kind's task runs.
PENDING_SERVICES = {
    PendingKind.VERIFICATION_RESEND: send_verification_resend,
    PendingKind.PASSWORD_RESET: send_password_reset_code,
    PendingKind.PASSWORD_RESET_AGAIN: _resend_reset_code,
    PendingKind.ACCOUNT_LIST: send_account_list,
    PendingKind.SUB_ACCOUNT_REQUEST: submit_sub_account_request,
}


# A kept request is dropped unprocessed once what it would produce could no longer be used:
# the reset code's validity; a set-password link or a list of login names arriving later
# than an hour after the form would surprise more than help (the person asks again).
PENDING_REQUEST_MINUTES = {
    PendingKind.VERIFICATION_RESEND: 60,
    PendingKind.PASSWORD_RESET: settings.PASSWORD_RESET_CODE_MINUTES,
    PendingKind.PASSWORD_RESET_AGAIN: settings.PASSWORD_RESET_CODE_MINUTES,
    PendingKind.ACCOUNT_LIST: 60,
    PendingKind.SUB_ACCOUNT_REQUEST: 60,
}


# Tries per kept request (each sweep makes one) before it is dropped with a log line.
PENDING_REQUEST_TRIES = 3


# A claim older than this lost its sweep (killed, or its database went away): the row is
# claimed again. Its processing commits with the row's delete, so a lost sweep did nothing.
PENDING_REQUEST_LEASE = timedelta(minutes=5)


def sweep_public_requests(now=None) -> dict[str, int]:
    """Process the public form requests kept while the broker was down, oldest first (a
    forgot-password step 1 before its resend): each is claimed by one sweep (a conditional
    UPDATE, so two sweeps at once never both take it, on PostgreSQL and SQLite alike), its
    matching runs as the task would, and the row is deleted in the same transaction, so a
    request is processed exactly once. A failure leaves the row for the next sweep, at most
    PENDING_REQUEST_TRIES times; a row older than what it would produce is dropped. Log
    lines name the kind and the row's id, never a typed value."""
    now = now or timezone.now()
    counts = {"processed": 0, "skipped": 0, "expired": 0, "retried": 0, "dropped": 0}
    for kind, minutes in PENDING_REQUEST_MINUTES.items():
        expired = PendingPublicRequest.objects.filter(
            kind=kind, created_at__lt=now - timedelta(minutes=minutes)
        )
        for pk in expired.values_list("pk", flat=True):
            if PendingPublicRequest.objects.filter(pk=pk).delete()[0]:
                counts["expired"] += 1
                logger.info("public form request %s (%s) expired unprocessed; dropped", pk, kind)
    due = PendingPublicRequest.objects.filter(
        Q(claimed_at=None) | Q(claimed_at__lt=now - PENDING_REQUEST_LEASE)
    ).values_list("pk", "claimed_at")[:500]
    for pk, seen in list(due):
        counts[_process_public_request(pk, seen)] += 1
    return counts


def _process_public_request(pk: int, seen) -> str:
    claim = timezone.now()
    claimed = PendingPublicRequest.objects.filter(pk=pk, claimed_at=seen).update(
        claimed_at=claim, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"  # another sweep has it
    row = PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim).first()
    if row is None:
        return "skipped"
    try:
        with transaction.atomic():
            # Ours still (not expired or claimed again meanwhile): the delete commits with
            # what the matching writes, or neither does.
            if not PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim).delete()[0]:
                return "skipped"
            fields = json.loads(two_factor.decrypt_secret(row.payload))
            PENDING_SERVICES[row.kind](**fields)
    except _NotYet:
        reason = NO_STEP_ONE_CODE
    except Exception as error:
        reason = type(error).__name__
    else:
        return "processed"
    mine = PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim)
    if row.attempts >= PENDING_REQUEST_TRIES:
        mine.delete()
        # A resend whose step 1 missed ends here too: that is no fault.
        logger.log(
            logging.INFO if reason == NO_STEP_ONE_CODE else logging.WARNING,
            "public form request %s (%s) dropped after %d tries (%s)",
            pk,
            row.kind,
            row.attempts,
            reason,
        )
        return "dropped"
    mine.update(claimed_at=None)
    logger.info("public form request %s (%s) left for the next sweep (%s)", pk, row.kind, reason)
    return "retried"

"""How the public self-service forms hand their work over (補寄驗證信, 忘記密碼, 忘記帳號,
申請子帳號).

Each form answers the same whether or not the data matched, and does the same work in the
request: it hands what was typed to a Celery task after commit, match or miss. The task
looks the person up and, only for a match, writes, mails and logs. So with a live broker
neither the page, the status, the redirect nor the time the request takes tells a match
from a miss. (Not on the embedded default, where the task runs eagerly in the view: see
hand_off.) When the broker cannot take the task, the request is kept, encrypted, as a
PendingPublicRequest (one INSERT, match or miss) and the sweep runs the matching later
(public_request_sweep.py)."""

import json
import logging

from django.db import DatabaseError, transaction

from accounts import two_factor
from accounts.models import Account, PendingPublicRequest
from accounts.normalize import normalize_login_name, same_text
from portal import queue

logger = logging.getLogger(__name__)

PendingKind = PendingPublicRequest.Kind

# The task each kind of request is handed to (accounts/tasks.py).
PUBLIC_FORM_TASKS = {
    PendingKind.VERIFICATION_RESEND: "accounts.tasks.resend_verification_if_matching",
    PendingKind.PASSWORD_RESET: "accounts.tasks.send_password_reset_code_if_matching",
    PendingKind.PASSWORD_RESET_AGAIN: "accounts.tasks.resend_password_reset_code_if_matching",
    PendingKind.ACCOUNT_LIST: "accounts.tasks.send_account_list_if_matching",
    PendingKind.SUB_ACCOUNT_REQUEST: "schools.tasks.submit_sub_account_request_if_unit_matches",
}


def hand_off(kind: str, **fields) -> None:
    """Queue the matching task after the surrounding transaction commits. With a live broker
    the request's only work is that one publication, the same for a match and a miss. On the
    embedded default (Celery eager, no ATOMIC_REQUESTS) the on-commit callback fires when
    this function's own atomic() exits, so the task runs inside the view and a match does
    more work there than a miss: the embedded default is for development only.

    What was typed travels in the task's arguments: Celery logs a fixed text in their place,
    and the tasks never let an exception (which Celery would log with the arguments) out.
    If the broker cannot take the task, or failed a moment ago (its circuit breaker is open:
    a hung Redis then costs the next requests nothing), the request is kept instead, the
    same for a match and a miss: one INSERT of its encrypted arguments (keep_public_request),
    which the sweep processes once the broker is back. Doing the task here would make a
    match slower than a miss; the page is the same either way."""

    def publish():
        refused = queue.publish(PUBLIC_FORM_TASKS[kind], kwargs=fields, hide_arguments=True)
        if refused:
            keep_public_request(kind=kind, fields=fields, reason=refused)

    with transaction.atomic():
        transaction.on_commit(publish)


def keep_public_request(*, kind: str, fields: dict, reason: str) -> None:
    """Store a request the broker could not take, for the sweep: one INSERT whatever was
    typed (the payload is encrypted with the two-factor keys). Logged by kind and reason
    only. If even the database refuses, the request is dropped with a warning: the page the
    person gets is the same, and they can ask again."""
    try:
        PendingPublicRequest.objects.create(
            kind=kind, payload=two_factor.encrypt_secret(json.dumps(fields))
        )
    except DatabaseError as error:
        logger.warning(
            "public form request %s dropped: broker unavailable (%s), not stored (%s)",
            kind,
            reason,
            type(error).__name__,
        )
        return
    logger.warning(
        "broker unavailable (%s); public form request %s kept for the sweep", reason, kind
    )


def find_person(*, full_name: str, username: str, email: str, states) -> Account | None:
    """The account whose name, login name and e-mail all match what was typed."""
    account = (
        Account.objects.select_related("unit")
        .filter(username=normalize_login_name(username), state__in=states)
        .first()
    )
    if (
        account is not None
        and same_text(account.full_name, full_name)
        and account.email.strip().lower() == email.strip().lower()
    ):
        return account
    return None

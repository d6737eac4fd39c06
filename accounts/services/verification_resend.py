"""補寄驗證信 (SPEC /verify/resend/): a pending account whose name, login name and e-mail
all match gets a fresh set-password link; the page says the same for a miss."""

from django.db import transaction

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event, request_origin
from accounts.services.public_requests import PendingKind, find_person, hand_off
from accounts.services.set_password import issue_set_password_link
from mail import messages

Kind = SecurityEvent.Kind


def request_verification_resend(*, full_name: str, username: str, email: str, request=None) -> None:
    """The form's side: hand what was typed to the task (send_verification_resend)."""
    hand_off(
        PendingKind.VERIFICATION_RESEND,
        full_name=full_name,
        username=username,
        email=email,
        origin=request_origin(request),
    )


def send_verification_resend(
    *, full_name: str, username: str, email: str, origin: dict | None = None
) -> None:
    """The task's side: a fresh set-password link for a pending account whose name, login
    name and e-mail match; earlier links stop working."""
    account = find_person(
        full_name=full_name, username=username, email=email, states=[Account.State.PENDING]
    )
    if account is None:
        return
    with transaction.atomic():
        link = issue_set_password_link(account=account)
        messages.verification_resent(account=account, link=link)
        record_security_event(
            kind=Kind.VERIFICATION_RESENT, account=account, actor=None, origin=origin
        )

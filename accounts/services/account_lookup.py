"""忘記帳號 (forgot account, SPEC /account/lookup/): the login names an e-mail holds in a
unit, mailed to that e-mail; the page says the same for a miss."""

from django.db import transaction
from django.db.models.functions import Lower

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event, request_origin
from accounts.services.public_requests import PendingKind, hand_off
from mail import messages
from schools.models import Unit

Kind = SecurityEvent.Kind


def lookup_accounts(*, unit_code: str, email: str, request=None) -> None:
    """Forgot account, the form's side: hand what was typed to the task (send_account_list)."""
    hand_off(
        PendingKind.ACCOUNT_LIST,
        unit_code=unit_code,
        email=email,
        origin=request_origin(request),
    )


def send_account_list(*, unit_code: str, email: str, origin: dict | None = None) -> None:
    """Forgot account, the task's side: mail the login names that e-mail holds in that unit."""
    unit = (
        Unit.objects.annotate(code_lower=Lower("code"))
        .filter(code_lower=unit_code.strip().lower())
        .first()
    )
    if unit is None:
        return
    accounts = list(
        Account.objects.annotate(email_lower=Lower("email"))
        .filter(unit=unit, email_lower=email.strip().lower())
        .order_by("username")
    )
    if not accounts:
        return
    with transaction.atomic():
        messages.account_lookup(email=accounts[0].email, unit=unit, accounts=accounts)
        for account in accounts:
            record_security_event(kind=Kind.ACCOUNT_LOOKUP, account=account, origin=origin)

"""A person's own profile change (/me/), and the holder's change of a sub-account's profile
(the e-mail address has its own rules: email_change.py)."""

from django.db import transaction

from accounts.models import Account, SecurityEvent
from accounts.profile import normalize_phone, normalize_text
from accounts.security_log import record_security_event

Kind = SecurityEvent.Kind


def update_profile(
    *,
    account: Account,
    full_name: str,
    office: str,
    title: str,
    phone: str,
    actor: Account | None = None,
    request=None,
):
    """The person's own change (``actor`` None), or their holder's."""
    changed = {}
    for field, value in {
        "full_name": normalize_text(full_name),
        "office": normalize_text(office),
        "title": normalize_text(title),
        "phone": normalize_phone(phone),
    }.items():
        if getattr(account, field) != value:
            changed[field] = value
    if not changed:
        return account
    with transaction.atomic():
        for field, value in changed.items():
            setattr(account, field, value)
        account.save(update_fields=list(changed))
        record_security_event(
            kind=Kind.PROFILE_CHANGED,
            account=account,
            actor=actor or account,
            request=request,
            detail={"fields": sorted(changed)},
        )
    return account

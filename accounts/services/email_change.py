"""Changing an account's e-mail address, where set-password links and reset codes go: by the
person (/me/email/, confirmed from the new address), or by their holder or helpdesk
(confirmed by the person, signed in; a pending account is corrected at once)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, EmailChangeRequest, SecurityEvent, hash_secret
from accounts.profile import Profile, normalize_email, validate_profile
from accounts.security_log import record_security_event
from accounts.services.reauthentication import check_password_again
from accounts.services.set_password import issue_set_password_link
from mail import messages

Kind = SecurityEvent.Kind


def request_email_change(*, account: Account, new_email: str, password: str, request) -> None:
    """A confirmation link to the new address after the password is re-checked through the
    lockout; the old address stays until the link is used, and is told now."""
    error = check_password_again(
        account=account, password=password, request=request, purpose="email_change"
    )
    if error:
        raise ValidationError({"password": [error]})
    with transaction.atomic():
        _propose_email(
            account=account, new_email=normalize_email(new_email), actor=account, request=request
        )


def _propose_email(*, account: Account, new_email: str, actor: Account, request) -> None:
    """Store a pending change with a fresh link (earlier pending ones end) and mail both
    addresses: the person's own request, or one made for them by someone else."""
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    account.email_change_requests.filter(used_at=None, revoked_at=None).update(revoked_at=now)
    EmailChangeRequest.objects.create(
        account=account,
        new_email=new_email,
        requested_by=actor,
        token_hash=hash_secret(token),
        created_at=now,
        expires_at=now + timedelta(hours=settings.EMAIL_CHANGE_LINK_HOURS),
    )
    link = settings.PORTAL_BASE_URL + reverse("accounts:email-confirm", args=[token])
    if actor.pk == account.pk:
        messages.email_change_confirm(account=account, new_email=new_email, link=link)
        messages.email_change_notice(account=account, new_email=new_email)
    else:
        messages.email_change_proposed(
            account=account, new_email=new_email, link=link, requester=actor
        )
        messages.email_change_proposed_notice(account=account, new_email=new_email, requester=actor)
    record_security_event(
        kind=Kind.EMAIL_CHANGE_REQUESTED,
        account=account,
        actor=actor,
        request=request,
        detail={"old_email": account.email, "new_email": new_email},
    )


def _revoke_mailed_secrets(account: Account, now) -> None:
    """Set-password links, reset codes and e-mail-change links went to an address that is no
    longer the account's: none of them works any more."""
    for links in (
        account.set_password_tokens,
        account.password_reset_codes,
        account.email_change_requests,
    ):
        links.filter(used_at=None, revoked_at=None).update(revoked_at=now)


def revoke_email_changes_asked_by(requester: Account, now) -> int:
    """The e-mail changes ``requester`` asked for other accounts and nobody has confirmed yet:
    once the requester loses the right to ask (the main role handed over, the account
    disabled), none of them can be confirmed any more. How many ended."""
    return (
        EmailChangeRequest.objects.filter(requested_by=requester, used_at=None, revoked_at=None)
        .exclude(account=requester)
        .update(revoked_at=now)
    )


class EmailChange:
    """What change_email_for_person did."""

    UNCHANGED = "unchanged"
    APPLIED = "applied"  # a pending account: changed, a new set-password link went to it
    PROPOSED = "proposed"  # an account in use: waits for the person to confirm

    @classmethod
    def told(cls, outcome, username, old_email, new_email) -> str:
        """What change_email_for_person did, told to the holder or helpdesk who asked."""
        if outcome == cls.APPLIED:
            return _(
                "帳號尚未開通，公務信箱已直接更正為 %(new)s：新的設定密碼連結已寄到新信箱，"
                "先前寄出的連結都已失效，原信箱 %(old)s 也已收到通知。"
            ) % {"new": new_email, "old": old_email}
        return _(
            "確認信已寄到新信箱 %(new)s；須由 %(username)s 本人登入後點選信中的連結才會生效，"
            "在那之前仍使用 %(old)s。原信箱也已收到通知。"
        ) % {"new": new_email, "username": username, "old": old_email}


def change_email_for_person(*, account: Account, new_email: str, actor, request=None) -> str:
    """An e-mail change by someone other than the person (their main-account holder on the
    /manage/ pages, helpdesk in the admin). The address is where set-password links and
    reset codes go, so it is never simply overwritten:

    - a pending account (no password yet, typically a typo at creation) gets the new address
      at once, a new set-password link there (every earlier one stops working) and a notice
      at the old address;
    - an account in use keeps its address until the person, signed in as themselves, uses
      the confirmation link mailed to the new address; the old address is told at once.

    Both are security events naming the actor and the old and new addresses.
    """
    new_email = normalize_email(new_email)
    if new_email == account.email:
        return EmailChange.UNCHANGED
    if actor is not None and actor.pk == account.pk:
        raise ValidationError(_("自己的公務信箱請到「修改個人資料」變更。"))
    errors = validate_profile(
        Profile(full_name="-", office="-", title="-", phone="-", email=new_email)
    )
    if errors:
        raise ValidationError(errors["email"])
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if account.state != Account.State.PENDING:
            _propose_email(account=account, new_email=new_email, actor=actor, request=request)
            return EmailChange.PROPOSED
        now = timezone.now()
        old_email = account.email
        _revoke_mailed_secrets(account, now)
        account.email = new_email
        account.save(update_fields=["email"])
        record_security_event(
            kind=Kind.EMAIL_CHANGED,
            account=account,
            actor=actor,
            request=request,
            detail={"old_email": old_email, "new_email": new_email},
        )
        messages.email_changed_notice(account=account, old_email=old_email, requester=actor)
        messages.account_created(account=account, link=issue_set_password_link(account=account))
        record_security_event(
            kind=Kind.SET_PASSWORD_LINK_SENT, account=account, actor=actor, request=request
        )
    return EmailChange.APPLIED


def find_email_change(token: str) -> EmailChangeRequest | None:
    found = (
        EmailChangeRequest.objects.select_related("account", "requested_by")
        .filter(token_hash=hash_secret(token))
        .first()
    )
    if found is None or not found.is_usable() or found.account.state == Account.State.DISABLED:
        return None
    return found


def confirm_email_change(*, change: EmailChangeRequest, actor=None, request=None) -> Account:
    """Apply a confirmed change. One the person asked for needs only the link; one someone
    else asked for needs the link and the person signed in (``actor``): the link alone
    proves only that the new mailbox is reachable, which whoever typed it can arrange."""
    if change.needs_the_person and (actor is None or actor.pk != change.account_id):
        raise ValidationError(_("請先以帳號本人登入，再確認新信箱。"))
    with transaction.atomic():
        now = timezone.now()
        claimed = EmailChangeRequest.objects.filter(
            pk=change.pk, used_at=None, revoked_at=None
        ).update(used_at=now)
        if not claimed:
            raise ValidationError(_("這個連結已經使用過或已失效。"))
        account = change.account
        old_email = account.email
        account.email = change.new_email
        account.save(update_fields=["email"])
        # Links and codes mailed to the old address stop working with it.
        _revoke_mailed_secrets(account, now)
        record_security_event(
            kind=Kind.EMAIL_CHANGED,
            account=account,
            actor=account,
            request=request,
            detail={"old_email": old_email, "new_email": change.new_email}
            | ({"requested_by": change.requested_by.username} if change.needs_the_person else {}),
        )
    return account

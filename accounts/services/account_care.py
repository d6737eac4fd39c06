"""Account care by the holder and by helpdesk: disable, re-enable, resend the verification
mail, unlock, and helpdesk's account reset (seed 001)."""

from datetime import datetime

from axes.utils import reset as axes_reset
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from accounts.lockout import lock_state
from accounts.models import Account, ReleasedLocalPart, SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.security_log import record_security_event
from accounts.services.email_change import revoke_email_changes_asked_by
from accounts.services.set_password import issue_set_password_link
from accounts.sessions import end_sessions
from mail import messages
from mail.models import OutboundEmail
from stations.models import Consent, StationGrant

Kind = SecurityEvent.Kind


def _require_right_to_switch(account: Account, actor) -> None:
    """Staff and superuser accounts are disabled, enabled or reset by a superuser only:
    helpdesk must not be able to switch a colleague (or a superuser) off and on."""
    if (account.is_staff or account.is_superuser) and not getattr(actor, "is_superuser", False):
        raise ValidationError(
            _("只有系統管理者（超級使用者）可以停用、重新啟用或重置管理人員的帳號。")
        )


def disable_account(*, account: Account, actor, request=None) -> None:
    """Disabled: cannot sign in; its sessions are deleted (re-enabling does not bring them
    back) and station tokens too, at once, and the e-mail changes it asked for other
    accounts end (the event counts them)."""
    _require_right_to_switch(account, actor)
    if account.state == Account.State.DISABLED:
        return
    with transaction.atomic():
        account.state = Account.State.DISABLED
        account.save(update_fields=["state"])
        end_sessions(account, reason="disabled")
        revoked = revoke_email_changes_asked_by(account, timezone.now())
        for model in (get_grant_model(), get_refresh_token_model(), get_access_token_model()):
            model.objects.filter(user=account).delete()
        record_security_event(
            kind=Kind.ACCOUNT_DISABLED,
            account=account,
            actor=actor,
            request=request,
            detail={"email_changes_revoked": revoked} if revoked else {},
        )


def enable_account(*, account: Account, actor, request=None) -> None:
    _require_right_to_switch(account, actor)
    if account.state != Account.State.DISABLED:
        return
    with transaction.atomic():
        account.state = (
            Account.State.ACTIVE if account.has_usable_password() else Account.State.PENDING
        )
        account.save(update_fields=["state"])
        record_security_event(
            kind=Kind.ACCOUNT_ENABLED, account=account, actor=actor, request=request
        )


def resend_verification(*, account: Account, actor, request=None) -> None:
    """The holder's or helpdesk's "resend": a fresh set-password link for a pending account."""
    if account.state != Account.State.PENDING:
        raise ValidationError(_("只有尚未開通的帳號可以補寄驗證信。"))
    with transaction.atomic():
        messages.verification_resent(account=account, link=issue_set_password_link(account=account))
        record_security_event(
            kind=Kind.VERIFICATION_RESENT, account=account, actor=actor, request=request
        )


def reset_account(*, account: Account, actor, request=None) -> Account:
    """Helpdesk's account reset (seed 001): for a person who can neither sign in nor reset
    the password (e.g. the registered mailbox is gone). The account is disabled and renamed
    out of the way, and its local part is freed for the same person to be registered again
    (by the holder, or by helpdesk for a main account). Its history stays."""
    _require_right_to_switch(account, actor)
    if account.unit_id is None:
        raise ValidationError(_("只有學校或機關的帳號可以重置。"))
    with transaction.atomic():
        original = account.username
        disable_account(account=account, actor=actor, request=request)
        end_sessions(account, reason="reset")  # also when disabled before: nothing stays open
        ReleasedLocalPart.objects.create(
            unit=account.unit,
            local_part=account.local_part,
            full_name=account.full_name,
            email=account.email,
            former_account=account,
        )
        account.username = f"{original}#reset{account.pk}"
        if account.role == Account.Role.MAIN:
            account.role = Account.Role.SUB  # the unit may get its main account again
        account.save(update_fields=["username", "role"])
        record_security_event(
            kind=Kind.ACCOUNT_RESET,
            account=account,
            username=original,
            actor=actor,
            request=request,
            detail={"freed": original},
        )
    return account


def unlock(*, username: str, actor, request=None) -> int:
    """Helpdesk unlock: forget the login name's failures at once."""
    username = normalize_login_name(username)
    count = axes_reset(username=username)
    record_security_event(
        kind=Kind.UNLOCKED,
        account=Account.objects.filter(username=username).first(),
        username=username,
        actor=actor,
        request=request,
        detail={"attempt_rows_removed": count},
    )
    return count


def locked_until(username: str) -> datetime | None:
    return lock_state(username).locked_until


def care_summary(account) -> dict:
    """What helpdesk's one-page account view shows: the usual calls answered at once (no
    verification mail: its mails; no station icon: grants and consents; locked out: the lock
    state; forgot password: recent security events)."""
    consents = {c.station_id: c for c in Consent.objects.filter(account=account, revoked_at=None)}
    stations = [
        {
            "grant": grant,
            "consent": consents.get(grant.station_id)
            if consents.get(grant.station_id) and consents[grant.station_id].covers(grant.station)
            else None,
        }
        for grant in StationGrant.objects.filter(account=account).select_related(
            "station", "granted_by"
        )
    ]
    return {
        "care_mails": OutboundEmail.objects.filter(account=account).order_by("-created_at")[:10],
        "care_stations": stations,
        "care_lock": lock_state(account.username),
        "care_two_factor": account.two_factor_device,
        "care_recovery_codes_left": account.recovery_codes.filter(used_at=None).count(),
        "care_events": SecurityEvent.objects.filter(account=account).select_related("actor")[:15],
    }

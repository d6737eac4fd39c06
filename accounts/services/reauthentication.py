"""Giving the password again before a sensitive change (password, e-mail, two-factor, the
main role): through the same lockout and log as signing in."""

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.lockout import lock_state, one_password_check_at_a_time
from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from accounts.validators import password_too_long, password_too_long_message

Kind = SecurityEvent.Kind


def check_password_again(*, account: Account, password: str, request, purpose: str) -> str | None:
    """The one re-check of the signed-in account's password before a sensitive change
    (password, e-mail, two-factor binding, unbinding and recovery codes, the main role):
    through the sign-in machinery, so a locked name is refused before the password is
    checked and a wrong one counts toward the same 3-strike lockout as a sign-in; each
    failure and a lock are in the security log (``purpose`` says where). A right password
    clears the count, as a sign-in does; checks of one name run one at a time, as at sign-in,
    so parallel re-checks get no more tries than are left. The error to show, or None."""
    if password_too_long(password):
        return password_too_long_message()
    username = account.username
    with one_password_check_at_a_time(username):
        return _check_password_again(account, username, password, request, purpose)


def _check_password_again(account, username, password, request, purpose) -> str | None:
    if authenticate(request, username=username, password=password) is not None:
        if getattr(request, "portal_lockout_failures", 0):
            axes_reset(username=username)
        return None
    lock = lock_state(username)
    counted = getattr(request, "axes_failures_since_start", None) is not None
    refused = getattr(request, "axes_locked_out", False) and not counted
    detail = {"purpose": purpose, "failures": lock.failures}
    if refused:
        detail["refused_locked"] = True
    record_security_event(
        kind=Kind.PASSWORD_CHECK_FAILED,
        account=account,
        actor=account,
        request=request,
        detail=detail,
    )
    if lock.locked and counted:
        record_security_event(
            kind=Kind.LOCKED_OUT,
            account=account,
            actor=account,
            request=request,
            detail={"locked_until": lock.locked_until.isoformat(), "purpose": purpose},
        )
    if lock.locked:
        return _(
            "密碼錯誤已達 3 次，帳號已鎖定 15 分鐘，請於 %(until)s 後再試，"
            "或致電系統客服 %(phone)s 解鎖。"
        ) % {
            "until": timezone.localtime(lock.locked_until).strftime("%H:%M"),
            "phone": settings.HELPDESK_PHONE,
        }
    return _("密碼不正確（錯誤 3 次將鎖定帳號，目前【%(n)d】）。") % {"n": lock.failures}

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


# --- Signing in again when another part of the portal asks (a station's prompt=login or
# max_age, OpenID Connect Core 1.0 3.1.2.1) -----------------------------------------------
#
# The asking code names what it asks for (``purpose``, opaque here) and sends the person to
# the sign-in page, which asks a signed-in person for the password again (captcha, lockout,
# then the second factor if bound) instead of passing them on. Any way in that ends in
# sign_in.start_session (password and code, or a passkey) counts: the purpose is then marked
# done for this session, and the asking code finds it so when the person comes back.

SIGN_IN_AGAIN_ASKED = "sign_in_again_asked"
SIGNED_IN_AGAIN_FOR = "signed_in_again_for"
# An unanswered request to sign in again is forgotten after this long (seconds): the sign-in
# page stops asking a signed-in person for the password.
SIGN_IN_AGAIN_PATIENCE = 15 * 60


def ask_to_sign_in_again(request, *, purpose: str) -> None:
    request.session[SIGN_IN_AGAIN_ASKED] = {
        "purpose": purpose,
        "asked": int(timezone.now().timestamp()),
    }


def asked_to_sign_in_again(request) -> bool:
    """Whether the sign-in page must ask this session for the password again."""
    asked = request.session.get(SIGN_IN_AGAIN_ASKED)
    if not asked:
        return False
    return timezone.now().timestamp() - asked.get("asked", 0) <= SIGN_IN_AGAIN_PATIENCE


def note_authentication(request) -> None:
    """An authentication just completed in this session (sign_in.start_session): what was
    asked of it is done."""
    asked = request.session.pop(SIGN_IN_AGAIN_ASKED, None)
    if asked and timezone.now().timestamp() - asked.get("asked", 0) <= SIGN_IN_AGAIN_PATIENCE:
        request.session[SIGNED_IN_AGAIN_FOR] = asked["purpose"]


def signed_in_again_for(request, *, purpose: str) -> bool:
    """Whether the person authenticated in this session after being asked for ``purpose``."""
    return request.session.get(SIGNED_IN_AGAIN_FOR) == purpose


def forget_sign_in_again(request, *, purpose: str) -> None:
    """The purpose was served (or answered otherwise): a later request asks again."""
    if request.session.get(SIGNED_IN_AGAIN_FOR) == purpose:
        del request.session[SIGNED_IN_AGAIN_FOR]
    asked = request.session.get(SIGN_IN_AGAIN_ASKED)
    if asked and asked.get("purpose") == purpose:
        del request.session[SIGN_IN_AGAIN_ASKED]

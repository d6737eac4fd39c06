"""Signing in with a password (SPEC section 3): the check through django-axes' per-name
lockout, the session that starts when every factor has passed, and the required actions
queued at that moment (a password that must change, a two-factor binding that is missing).
The code step of a two-factor sign-in is in two_factor_sign_in.py."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.contrib.auth.password_validation import get_default_password_validators
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.lockout import (
    LockState,
    lock_state,
    one_password_check_at_a_time,
    username_for_lockout,
)
from accounts.models import Account, SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.security_log import record_security_event, request_origin
from accounts.services.reauthentication import note_authentication
from accounts.sessions import (
    AUTHENTICATED_AT,
    LAST_SEEN,
    SID,
    SIGN_IN,
    SIGNED_IN_AT,
    end_this_session,
    new_sid,
)
from accounts.validators import PasswordHistoryValidator

Kind = SecurityEvent.Kind

# Session keys. The pending sign-in lives in an anonymous session until the code is given.
TWO_FACTOR_PENDING = "two_factor_pending"
# When the account signed in before this sign-in (the home page's 上次登入), or None.
PREVIOUS_SIGN_IN = "previous_sign_in"
# A required password change waits in the session until it is done.
PASSWORD_CHANGE_REQUIRED = "password_change_required"


@dataclass(frozen=True)
class SignInResult:
    account: Account | None
    username: str
    lock: LockState
    disabled: bool = False
    just_locked: bool = False
    # The password was right and the account uses two-factor: the code step comes next.
    needs_code: bool = False
    # The code step got a right code that was already used: refused, not counted.
    code_reused: bool = False

    @property
    def succeeded(self) -> bool:
        return self.account is not None and not self.needs_code


def sign_in(*, request, username: str, password: str) -> SignInResult:
    """Check a password through django-axes (per-name lockout). Without two-factor the session
    starts now; with it, only a pending sign-in is kept and the code step must follow.

    Unknown names fail exactly like known ones: same counting, same answer. The checks of
    one name run one at a time (lock check, password, count), so a burst of parallel tries
    gets no more password checks than the tries left; one commit for the sign-in's writes.
    """
    username = normalize_login_name(username)
    with one_password_check_at_a_time(username):
        account = authenticate(request, username=username, password=password)
        if account is None:
            return record_sign_in_failure(request, username)
        return _password_accepted(request, account, username, password)


def _password_accepted(request, account: Account, username: str, password: str):
    reason = password_change_reason(account, password)  # while the plaintext is at hand
    if account.two_factor_device is not None:
        request.session.cycle_key()
        request.session[TWO_FACTOR_PENDING] = {
            "account": account.pk,
            "username": account.username,
            "started": int(timezone.now().timestamp()),
            "password_change_reason": reason,
            "backend": account.backend,  # the backend that accepted the password
        }
        record_security_event(
            kind=Kind.SIGN_IN_CODE_REQUESTED, account=account, actor=account, request=request
        )
        return SignInResult(
            account=account, username=username, lock=LockState(0, None), needs_code=True
        )
    start_session(request, account, reason, how="password")
    return SignInResult(account=account, username=username, lock=LockState(0, None))


def start_session(request, account: Account, password_change_reason: str | None, how: str):
    """The sign-in has passed every factor (password and code, or a passkey): log in
    (rotates the session key, resets the lockout count), note when the person authenticated,
    then queue the required actions (SPEC section 3, seed 002 order: a password that must
    change first, then a required two-factor binding).

    Signing in over a session of another account ends that one. The same account signing
    in again in its own session (re-authentication, asked by a station's prompt=login or
    max_age) keeps the session: its sid, which the stations hold and which their
    back-channel logout names, and its sign-in time, from which the absolute lifetime runs.
    Only the time of authentication moves (the ``auth_time`` stations receive). A new sid
    would leave the stations signed in under the old one, which no ending of this session
    would ever name."""
    last_sign_in = account.last_login  # login() sets it to now
    previous = request.user if request.user.is_authenticated else None
    if previous is not None and previous.pk != account.pk:
        end_this_session(request, reason="signed_in_again")
        previous = None
    again = previous is not None and bool(request.session.get(SID))
    login(request, account)  # same account: the session's data stays (Django cycles the key)
    request.session.pop(TWO_FACTOR_PENDING, None)
    request.session[PREVIOUS_SIGN_IN] = last_sign_in.isoformat() if last_sign_in else None
    now = int(timezone.now().timestamp())
    request.session[LAST_SEEN] = now
    request.session[AUTHENTICATED_AT] = now
    if not again:
        request.session[SIGNED_IN_AT] = now  # the absolute lifetime runs from here
        request.session[SID] = new_sid()
        origin = request_origin(request)
        request.session[SIGN_IN] = {
            "how": how,
            "ip": origin.get("ip_address"),
            "ua": origin.get("user_agent", ""),
        }
    note_authentication(request)
    record_security_event(
        kind=Kind.SIGN_IN_SUCCEEDED,
        account=account,
        actor=account,
        request=request,
        detail={"factor": how, "again": True} if again else {"factor": how},
    )
    if password_change_reason:
        request.session[PASSWORD_CHANGE_REQUIRED] = password_change_reason
        record_security_event(
            kind=Kind.PASSWORD_CHANGE_REQUIRED,
            account=account,
            actor=account,
            request=request,
            detail={"reason": password_change_reason},
        )
    if account.must_use_two_factor and account.two_factor_device is None:
        record_security_event(
            kind=Kind.TWO_FACTOR_BINDING_REQUIRED, account=account, actor=account, request=request
        )


def record_sign_in_failure(request, username: str, *, kind=Kind.SIGN_IN_FAILED) -> SignInResult:
    """Record a failure axes has just counted (or refused while locked) and describe it. A
    name that matches no account is recorded as its keyed hash, as axes counted it."""
    known = Account.objects.filter(username=username).first()
    recorded = username if known else username_for_lockout(request, {"username": username})
    lock = lock_state(recorded)
    just_locked = getattr(request, "axes_failures_since_start", None) is not None and lock.locked
    if getattr(request, "axes_locked_out", False) and not just_locked:
        kind = Kind.SIGN_IN_REFUSED_LOCKED
    disabled = getattr(request, "portal_disabled_account", False)
    record_security_event(
        kind=kind,
        account=known,
        username=recorded,
        actor=None,
        request=request,
        detail={"failures": lock.failures, "disabled": disabled}
        if disabled
        else {"failures": lock.failures},
    )
    if just_locked:
        record_security_event(
            kind=Kind.LOCKED_OUT,
            account=known,
            username=recorded,
            request=request,
            detail={"locked_until": lock.locked_until.isoformat()},
        )
    return SignInResult(
        account=None, username=username, lock=lock, disabled=disabled, just_locked=just_locked
    )


def sign_out(request, *, detail=None) -> None:
    """The person signs out (POST /logout/, or a station's sign-out at the end-session
    endpoint, which says so in ``detail``): the session ends, and the sign-out is logged."""
    if request.user.is_authenticated:
        record_security_event(
            kind=Kind.SIGNED_OUT, account=request.user, request=request, detail=detail or {}
        )
    end_this_session(request, reason="signed_out")


def policy_failures(password: str, account: Account) -> list[str]:
    """The current policy's complaints about a password in use (history left out: the
    password in use is always in its own history)."""
    failures = []
    for validator in get_default_password_validators():
        if isinstance(validator, PasswordHistoryValidator):
            continue
        try:
            validator.validate(password, account)
        except ValidationError as error:
            failures.extend(error.messages)
    return failures


def password_change_reason(account: Account, password: str) -> str | None:
    """Why the password just given must change now, or None. The whole policy (zxcvbn takes
    a few milliseconds) runs only when the password was not yet found to satisfy today's
    policy for this account; a pass is remembered with one UPDATE."""
    stamp = account.password_policy_stamp
    if account.password_policy != stamp:
        if policy_failures(password, account):
            return "policy"
        Account.objects.filter(pk=account.pk).update(password_policy=stamp)
        account.password_policy = stamp
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    changed = account.password_changed_at or account.date_joined
    if max_age and timezone.now() - changed > timedelta(days=max_age):
        return "expired"
    return None

"""The code step of a two-factor sign-in (seed 002): after the password, an authenticator
code (each accepted once) or a single-use recovery code; wrong codes count toward the same
3-strike lockout as wrong passwords. A right code that was already used (a second sign-in
within the same 30 seconds) is refused without counting: the person did nothing wrong but
be quick, and waits for the app's next code."""

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone

from accounts import two_factor
from accounts.lockout import LockState, lock_state, one_password_check_at_a_time
from accounts.models import Account, RecoveryCode, SecurityEvent, TwoFactorDevice
from accounts.security_log import record_security_event
from accounts.services.sign_in import (
    TWO_FACTOR_PENDING,
    SignInResult,
    record_sign_in_failure,
    start_session,
)
from mail import messages

Kind = SecurityEvent.Kind

# use_second_factor's answer for a right authenticator code whose 30-second step (or a later
# one) was already used.
REUSED = "reused"


def pending_two_factor_sign_in(request) -> Account | None:
    """The account whose password was accepted in this browser and waits for its code, or
    None when there is none or it took longer than TWO_FACTOR_STEP_MINUTES."""
    pending = request.session.get(TWO_FACTOR_PENDING)
    if not pending:
        return None
    age = timezone.now().timestamp() - pending["started"]
    if age > settings.TWO_FACTOR_STEP_MINUTES * 60:
        request.session.pop(TWO_FACTOR_PENDING, None)
        return None
    account = (
        Account.objects.select_related("unit", "two_factor").filter(pk=pending["account"]).first()
    )
    if account is None or not account.is_active or account.two_factor_device is None:
        request.session.pop(TWO_FACTOR_PENDING, None)
        return None
    return account


def complete_two_factor_sign_in(*, request, account: Account, code: str) -> SignInResult:
    """The code step: an authenticator code (each accepted once) or an unused recovery code.
    A wrong code counts toward the same 3-strike lockout as a wrong password; a lock ends
    the pending sign-in. The lock check, the code and the failure count run under the same
    lock on the login name as the password step (``one_password_check_at_a_time``), so a
    burst mixing passwords and codes gets no more tries than are left; the binding's row is
    locked too, for the replay check of the code's step."""
    pending = request.session[TWO_FACTOR_PENDING]
    username = account.username
    with one_password_check_at_a_time(username):
        TwoFactorDevice.objects.select_for_update().filter(account=account).first()
        if lock_state(username).locked:
            request.session.pop(TWO_FACTOR_PENDING, None)
            request.axes_locked_out = True
            return record_sign_in_failure(request, username, kind=Kind.SIGN_IN_REFUSED_LOCKED)
        how = use_second_factor(account=account, code=code, request=request)
        if how == REUSED:
            record_security_event(
                kind=Kind.TWO_FACTOR_CODE_REUSED, account=account, actor=None, request=request
            )
            return SignInResult(
                account=None, username=username, lock=lock_state(username), code_reused=True
            )
        if how is None:
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=request
            )
            result = record_sign_in_failure(request, username, kind=Kind.TWO_FACTOR_FAILED)
            if result.lock.locked:
                request.session.pop(TWO_FACTOR_PENDING, None)
            return result
    account.backend = pending["backend"]
    start_session(request, account, pending.get("password_change_reason"), how=how)
    return SignInResult(account=account, username=username, lock=LockState(0, None))


def use_second_factor(*, account: Account, code: str, request=None) -> str | None:
    """Spend a code: "totp" or "recovery" when it is good, REUSED for an authenticator code
    that is right but of a step already used, None otherwise. Conditional updates make each
    code count once even when two requests race with it."""
    code = two_factor.normalize_code(code)
    device = account.two_factor_device
    if device is None:
        return None
    if two_factor.is_totp_code(code):
        step = two_factor.matching_step(
            two_factor.decrypt_secret(device.encrypted_secret), code, timezone.now()
        )
        if step is None:
            return None
        spent = TwoFactorDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
            last_used_step=step
        )
        return "totp" if spent else REUSED
    # Codes stored before migration 0013 are kept wrapped in an HMAC (two_factor).
    hashes = two_factor.stored_recovery_code_hashes(account.pk, code)
    if not hashes:
        return None
    with transaction.atomic():
        spent = RecoveryCode.objects.filter(
            account=account, code_hash__in=hashes, used_at=None
        ).update(used_at=timezone.now())
        if not spent:
            return None
        left = account.recovery_codes.filter(used_at=None).count()
        messages.two_factor_changed(account=account, what="recovery_code_used", codes_left=left)
    return "recovery"

"""Every change of state that matters in the accounts app. Each function runs in one
transaction, writes its security event and queues its mail after commit."""

import json
import logging
import re
import secrets
import smtplib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.utils import reset as axes_reset
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import authenticate, login, update_session_auth_hash
from django.contrib.auth.password_validation import get_default_password_validators
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import KombuError

from accounts import two_factor
from accounts.lockout import (
    LockState,
    lock_state,
    lockout_name,
    one_password_check_at_a_time,
    username_for_lockout,
)
from accounts.models import (
    Account,
    EmailChangeRequest,
    OutboundEmail,
    PasswordResetCode,
    PendingPublicRequest,
    RecoveryCode,
    ReleasedLocalPart,
    SecurityEvent,
    SetPasswordToken,
    TwoFactorDevice,
    hash_secret,
    local_part_validator,
    new_message_id,
    normalize_login_name,
)
from accounts.sessions import SessionStore, end_sessions
from accounts.validators import (
    PasswordHistoryValidator,
    password_too_long,
    password_too_long_message,
    validate_new_password,
)
from portal import breaker, emails
from portal.mail_backends import DeliveryUnconfirmed
from portal.net import client_ip
from schools.models import Unit

logger = logging.getLogger(__name__)

Kind = SecurityEvent.Kind


# --- Security event log -----------------------------------------------------------------


def request_origin(request) -> dict:
    """Where a request came from, for the security event a task writes on its behalf."""
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }


def _event(kind, account, actor, request, detail, username="", origin=None) -> SecurityEvent:
    ip_address = user_agent = None
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
        if actor is None and getattr(request, "user", None) is not None:
            actor = request.user if request.user.is_authenticated else None
    elif origin:
        ip_address, user_agent = origin.get("ip_address"), origin.get("user_agent")
    return SecurityEvent(
        kind=kind,
        account=account,
        username=username or (account.username if account else ""),
        actor=actor,
        ip_address=ip_address,
        user_agent=user_agent or "",
        detail=detail or {},
    )


def record_security_event(
    *, kind, account=None, username="", actor=None, request=None, detail=None, origin=None
):
    event = _event(kind, account, actor, request, detail, username=username, origin=origin)
    event.save()
    return event


# --- Creating accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    full_name: str
    office: str
    title: str
    phone: str
    email: str


def validate_profile(profile: Profile) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    labels = {
        "full_name": _("姓名"),
        "office": _("處室名稱"),
        "title": _("職稱"),
        "phone": _("電話(分機)"),
        "email": _("公務信箱"),
    }
    for name, label in labels.items():
        if not getattr(profile, name).strip():
            errors.setdefault(name, []).append(_("請填寫%(field)s。") % {"field": label})
    if profile.email.strip():
        try:
            validate_email(profile.email.strip())
        except ValidationError:
            errors.setdefault("email", []).append(_("信箱格式不正確，例如 name@school.edu.tw。"))
    return errors


def _new_pending_account(
    *, unit: Unit, local_part: str, role: str, profile: Profile, actor, request
):
    """A pending account (no password yet), its event and its account-created mail."""
    account = Account(
        username=f"{unit.code}_{local_part}",
        unit=unit,
        local_part=local_part,
        role=role,
        state=Account.State.PENDING,
        full_name=profile.full_name.strip(),
        office=profile.office.strip(),
        title=profile.title.strip(),
        phone=profile.phone.strip(),
        email=profile.email.strip(),
    )
    account.set_unusable_password()
    account.save()
    record_security_event(
        kind=Kind.ACCOUNT_CREATED,
        account=account,
        actor=actor,
        request=request,
        detail={"role": role},
    )
    emails.account_created(
        account=account, link=issue_set_password_link(account=account, first=True)
    )
    return account


def create_main_account(*, unit: Unit, local_part: str, profile: Profile, actor=None, request=None):
    """Create the unit's main account (pending) and send its account-created mail.

    Raises ValidationError (with a field → messages dict) when a value breaks the rules or
    the unit already has a main account.
    """
    errors = validate_profile(profile)
    local_part, problems = validate_new_local_part(unit=unit, local_part=local_part, person=profile)
    if problems:
        errors["local_part"] = problems
    if Account.objects.filter(unit=unit, role=Account.Role.MAIN).exists():
        errors.setdefault("unit", []).append(
            _("單位 %(code)s 已有主帳號，請改用主帳號轉移。") % {"code": unit.code}
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = _new_pending_account(
                unit=unit,
                local_part=local_part,
                role=Account.Role.MAIN,
                profile=profile,
                actor=actor,
                request=request,
            )
    except IntegrityError as error:
        # Two operators creating the same unit's main account at once: the constraint wins.
        raise ValidationError(
            {"unit": [_("單位 %(code)s 已有主帳號。") % {"code": unit.code}]}
        ) from error
    return account


# --- Set-password links -----------------------------------------------------------------


def issue_set_password_link(*, account: Account, first: bool = False) -> str:
    """A new single-use link; every earlier unused link of the account stops working
    (``first``: a brand-new account has none to revoke)."""
    now = timezone.now()
    if not first:
        account.set_password_tokens.filter(used_at=None, revoked_at=None).update(revoked_at=now)
    token = SetPasswordToken.new_token()
    SetPasswordToken.objects.create(
        account=account,
        token_hash=hash_secret(token),
        created_at=now,
        expires_at=now + timedelta(hours=settings.SET_PASSWORD_LINK_HOURS),
    )
    return settings.PORTAL_BASE_URL + reverse("accounts:set-password", args=[token])


def find_set_password_token(token: str) -> SetPasswordToken | None:
    found = (
        SetPasswordToken.objects.select_related("account", "account__unit")
        .filter(token_hash=hash_secret(token))
        .first()
    )
    if found is None or not found.is_usable() or found.account.state == Account.State.DISABLED:
        return None
    return found


def set_password_from_link(*, token: SetPasswordToken, new_password: str, request=None) -> Account:
    """Use the link once: set the password, activate a pending account, end the link."""
    with transaction.atomic():
        locked = SetPasswordToken.objects.select_for_update().get(pk=token.pk)
        if not locked.is_usable():
            raise ValidationError(_("這個連結已經使用過或已失效。"))
        account = token.account
        validate_new_password(new_password, account)
        now = timezone.now()
        _store_new_password(account, new_password)
        if account.state == Account.State.PENDING:
            account.state = Account.State.ACTIVE
            account.activated_at = now
            account.save(update_fields=["state", "activated_at"])
        locked.used_at = now
        locked.save(update_fields=["used_at"])
        axes_reset(username=account.username)
        record_security_event(
            kind=Kind.PASSWORD_SET, account=account, actor=account, request=request
        )
    return account


# --- Signing in -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    account: Account | None
    username: str
    lock: LockState
    disabled: bool = False
    just_locked: bool = False
    # The password was right and the account uses two-factor: the code step comes next.
    needs_code: bool = False

    @property
    def succeeded(self) -> bool:
        return self.account is not None and not self.needs_code


# Session keys. The pending sign-in lives in an anonymous session until the code is given.
TWO_FACTOR_PENDING = "two_factor_pending"
SIGNED_IN_AT = "signed_in_at"


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
            return _sign_in_failed(request, username)
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
    _start_session(request, account, reason, how="password")
    return SignInResult(account=account, username=username, lock=LockState(0, None))


def _start_session(request, account: Account, password_change_reason: str | None, how: str):
    """The sign-in has passed every factor: log in (rotates the session key, resets the
    lockout count), then queue the required actions (SPEC section 3, seed 002 order: a
    password that must change first, then a required two-factor binding)."""
    login(request, account)
    request.session.pop(TWO_FACTOR_PENDING, None)
    now = int(timezone.now().timestamp())
    request.session["last_seen"] = now
    request.session[SIGNED_IN_AT] = now  # the absolute lifetime runs from here
    record_security_event(
        kind=Kind.SIGN_IN_SUCCEEDED,
        account=account,
        actor=account,
        request=request,
        detail={"factor": how},
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


def _sign_in_failed(request, username: str, *, kind=Kind.SIGN_IN_FAILED) -> SignInResult:
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
            return _sign_in_failed(request, username, kind=Kind.SIGN_IN_REFUSED_LOCKED)
        how = use_second_factor(account=account, code=code, request=request)
        if how is None:
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=request
            )
            result = _sign_in_failed(request, username, kind=Kind.TWO_FACTOR_FAILED)
            if result.lock.locked:
                request.session.pop(TWO_FACTOR_PENDING, None)
            return result
    account.backend = pending["backend"]
    _start_session(request, account, pending.get("password_change_reason"), how=how)
    return SignInResult(account=account, username=username, lock=LockState(0, None))


def use_second_factor(*, account: Account, code: str, request=None) -> str | None:
    """Spend a code: "totp" or "recovery" when it is good, None otherwise. Conditional
    updates make each code count once even when two requests race with it."""
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
        return "totp" if spent else None
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
        emails.two_factor_changed(account=account, what="recovery_code_used", codes_left=left)
    return "recovery"


# --- Two-factor binding (SPEC /me/two-factor/, seed 002) ---------------------------------


UNCONFIRMED_SECRET_LIFETIME = timedelta(minutes=30)


def start_two_factor_binding(*, account: Account) -> str:
    """The secret to show for binding. It is kept (encrypted) but not in force until a code
    confirms it; reloading the page shows the same one, so a scanned QR code stays good."""
    device = TwoFactorDevice.objects.filter(account=account).first()
    if device is not None and device.confirmed_at:
        raise ValidationError(_("此帳號已綁定雙因子認證。"))
    now = timezone.now()
    if device is None:
        secret = two_factor.new_secret()
        device, _created = TwoFactorDevice.objects.get_or_create(
            account=account, defaults={"encrypted_secret": two_factor.encrypt_secret(secret)}
        )
    elif device.created_at < now - UNCONFIRMED_SECRET_LIFETIME:
        # A secret shown long ago (maybe on a shared screen) is not offered again.
        device.encrypted_secret = two_factor.encrypt_secret(two_factor.new_secret())
        device.created_at = now
        device.save(update_fields=["encrypted_secret", "created_at"])
    return two_factor.decrypt_secret(device.encrypted_secret)


def _replace_recovery_codes(account: Account) -> list[str]:
    codes = two_factor.new_recovery_codes()
    account.recovery_codes.all().delete()
    RecoveryCode.objects.bulk_create(
        RecoveryCode(account=account, code_hash=two_factor.recovery_code_hash(account.pk, code))
        for code in codes
    )
    return codes


def confirm_two_factor_binding(*, account: Account, code: str, password: str, request) -> list[str]:
    """Put the binding in force with the current password (re-checked through the lockout)
    and a first good code; returns the ten recovery codes, shown once and kept only as
    hashes. Both are checked and every error is told at once."""
    errors: dict[str, list[str]] = {}
    password_error = check_password_again(
        account=account, password=password, request=request, purpose="two_factor_binding"
    )
    if password_error:
        errors["password"] = [password_error]
    with transaction.atomic():
        device = TwoFactorDevice.objects.select_for_update().filter(account=account).first()
        if device is None or device.confirmed_at:
            errors["code"] = [_("綁定流程已過期，請重新整理頁面後再掃描一次。")]
            raise ValidationError(errors)
        typed = two_factor.normalize_code(code)
        step = None
        if two_factor.is_totp_code(typed):
            secret = two_factor.decrypt_secret(device.encrypted_secret)
            step = two_factor.matching_step(secret, typed, timezone.now())
        if step is None:
            errors["code"] = [
                _(
                    "驗證碼不正確。請輸入驗證器 App 目前顯示的 6 位數字，"
                    "並確認手機的時間是自動設定。"
                )
            ]
        if errors:
            raise ValidationError(errors)
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _replace_recovery_codes(account)
        record_security_event(
            kind=Kind.TWO_FACTOR_ENABLED, account=account, actor=account, request=request
        )
        emails.two_factor_changed(account=account, what="enabled")
    _keep_this_session(request, account)
    return codes


def regenerate_recovery_codes(*, account: Account, password: str, request) -> list[str]:
    """New recovery codes after the password is given again; the old ones stop working."""
    error = check_password_again(
        account=account, password=password, request=request, purpose="recovery_codes"
    )
    if error:
        raise ValidationError({"password": [error]})
    with transaction.atomic():
        codes = _replace_recovery_codes(account)
        record_security_event(
            kind=Kind.TWO_FACTOR_RECOVERY_CODES_REGENERATED,
            account=account,
            actor=account,
            request=request,
        )
        emails.two_factor_changed(account=account, what="recovery_codes")
    return codes


def _keep_this_session(request, account: Account) -> None:
    """A binding change ends the account's other sessions (Account._get_session_auth_hash);
    the one making the change goes on."""
    account._state.fields_cache.pop("two_factor", None)  # reload the binding as it is now
    if request is not None and getattr(request, "user", None) == account:
        update_session_auth_hash(request, account)


def _remove_two_factor(account: Account) -> None:
    TwoFactorDevice.objects.filter(account=account).delete()
    account.recovery_codes.all().delete()


def disable_two_factor(*, account: Account, password: str, request) -> None:
    """Unbind after the password is given again. Where two-factor is required, binding a new
    authenticator is the next step (that is how someone moves to a new phone)."""
    error = check_password_again(
        account=account, password=password, request=request, purpose="two_factor_unbinding"
    )
    if error:
        raise ValidationError({"password": [error]})
    with transaction.atomic():
        _remove_two_factor(account)
        record_security_event(
            kind=Kind.TWO_FACTOR_DISABLED, account=account, actor=account, request=request
        )
        emails.two_factor_changed(account=account, what="disabled")
    _keep_this_session(request, account)


def reset_two_factor(*, account: Account, actor, request=None) -> None:
    """Helpdesk's reset for someone who lost the phone and the recovery codes. The account
    signs in with the password alone afterwards (and must bind again where required)."""
    if account.two_factor_device is None:
        raise ValidationError(_("此帳號沒有綁定雙因子認證。"))
    if actor is not None and account.pk == actor.pk:
        raise ValidationError(_("不能重設自己的雙因子認證，請洽其他系統管理員。"))
    if (account.is_staff or account.is_superuser) and not getattr(actor, "is_superuser", False):
        raise ValidationError(_("管理人員的雙因子認證只有系統管理員可以重設。"))
    with transaction.atomic():
        _remove_two_factor(account)
        record_security_event(
            kind=Kind.TWO_FACTOR_RESET, account=account, actor=actor, request=request
        )
        emails.two_factor_changed(account=account, what="reset")


def reencrypt_two_factor_secrets() -> int:
    """Key rotation: every stored secret re-encrypted with the first configured key."""
    count = 0
    with transaction.atomic():
        for device in TwoFactorDevice.objects.select_for_update().only("encrypted_secret"):
            device.encrypted_secret = two_factor.cipher().rotate(device.encrypted_secret).decode()
            device.save(update_fields=["encrypted_secret"])
            count += 1
    return count


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


# --- The outbox -------------------------------------------------------------------------

SWEEP_GRACE = timedelta(minutes=2)
CLAIM_TOLERANCE = timedelta(seconds=5)
CLEARED_BODY = gettext_lazy("（此信含一次性的連結或驗證碼，寄出或寄送失敗後內容已清除。）")
# Mails whose secret is a set-password link: a resend issues a fresh link instead.
SET_PASSWORD_MAILS = ("account_created", "verification_resent")
UNCONFIRMED_TWICE = gettext_lazy(
    "兩次寄送都無法確認郵件伺服器是否收到（未回應或寄送中斷），不再自動重寄；"
    "請向收件人確認是否收到後再重寄。"
)
LOST_ONCE = gettext_lazy(
    "寄送中斷（工作程序停止或資料庫中斷），無法確認是否寄出；以同一信件識別碼自動重寄一次。"
)
COMPOSE_FAILED = gettext_lazy("程式無法組成這封信，未寄出，也不會自動重寄；請通知系統管理員。")
# What deliver_outbound_email says when its claim on the row no longer stood at the end.
CLAIM_LOST = "claim_lost"
# Enhanced status codes (RFC 3463) that speak of the recipient: its address (5.1.x, save
# 5.1.7 and 5.1.8, which are the sender's) or its mailbox (5.2.x).
ENHANCED_STATUS = re.compile(rb"\s*5\.(\d{1,3})\.(\d{1,3})(?!\d)")


def retry_delays() -> tuple[int, ...]:
    """Seconds before the 2nd, 3rd, ... try (settings.OUTBOX_RETRY_DELAYS)."""
    return tuple(settings.OUTBOX_RETRY_DELAYS)


def sending_lease() -> timedelta:
    """How long a row may stay "sending" before its worker counts as lost."""
    return timedelta(seconds=settings.OUTBOX_SENDING_LEASE)


@dataclass(frozen=True)
class Delivery:
    status: str
    retry_in: int | None = None


def _refuses_the_recipient(code: int, message: bytes) -> bool:
    if code < 500:
        return False
    enhanced = ENHANCED_STATUS.match(message or b"")
    if enhanced is None:
        return True  # a bare 550 to RCPT: no such mailbox
    subject, detail = int(enhanced[1]), int(enhanced[2])
    return subject == 2 or (subject == 1 and detail not in (7, 8))


def _is_permanent(error: Exception) -> bool:
    """Only the recipient's own refusal is final: RCPT answered 5xx about that address or
    mailbox. A refused sender (MAIL FROM), a refused login, a policy or relay refusal (5.7.x,
    also at RCPT), DATA refused, a 4xx, a timeout or a lost connection is the relay's or
    ours to fix, and every other mail meets it too: those are retried and swept."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(
            _refuses_the_recipient(code, message) for code, message in error.recipients.values()
        )
    return False


def _final(row: OutboundEmail, **fields) -> dict:
    """A row's final state; a body that carried a secret is cleared either way."""
    if row.carries_secret:
        fields.update(body_text=str(CLEARED_BODY), body_html="", body_cleared_at=timezone.now())
    return fields


def _close(row: OutboundEmail, **fields) -> bool:
    """Record a worker's outcome, only while its claim stands: the row still "sending" under
    the claimed_at it set. A worker that outlived the lease (no hard time limit: eager mode,
    a solo or threads pool, clock skew) finds the sweep gave the row to another and records
    nothing over it."""
    if OutboundEmail.objects.filter(
        pk=row.pk, status=OutboundEmail.Status.SENDING, claimed_at=row.claimed_at
    ).update(**fields):
        return True
    logger.warning(
        "outbox %s: the claim of %s no longer stands (the sweep counted this worker as lost); "
        "its outcome (%s) is not recorded",
        row.pk,
        row.claimed_at.isoformat(),
        fields.get("status"),
    )
    return False


def _finish(row: OutboundEmail, **fields) -> bool:
    return _close(row, **_final(row, **fields))


def _compose(row: OutboundEmail) -> EmailMultiAlternatives:
    """The message for a row: the same Message-ID on every try of it."""
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        headers={"Message-ID": row.message_id, "X-Portal-Outbox-Id": str(row.pk)},
        connection=get_connection(fail_silently=False),
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    return message


def deliver_outbound_email(*, outbound_email_id: int) -> Delivery:
    """Send one outbox row; it reaches the relay at most twice, always under its Message-ID.

    The row is claimed with a conditional UPDATE (queued and due → sending, claimed_at
    set), so two workers, a retry and the sweep can never both send it, and the outcome is
    recorded only while that claim stands (_close). Until the row is finished it stays
    "sending": if this process dies or loses its database meanwhile, the sweep sends it once
    more after the lease (sweep_outbox). Errors before the relay took the message
    put it back in the queue with a delay (retry_delays()); after the last try, or at once
    when the relay refuses the recipient, it is marked failed with the reason. A message the
    relay took without answering may have been delivered: it is tried once more at most.
    """
    now = timezone.now()
    claimed = OutboundEmail.objects.filter(
        pk=outbound_email_id,
        status=OutboundEmail.Status.QUEUED,
        next_attempt_at__lte=now + CLAIM_TOLERANCE,
    ).update(status=OutboundEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Delivery(status="skipped")
    row = OutboundEmail.objects.get(pk=outbound_email_id)
    composed = False
    try:
        message = _compose(row)
        composed = True
        message.send()
    except DatabaseError:
        # The database went away after the claim: the row stays "sending" and the sweep
        # sends it once more after the lease.
        raise
    except (DeliveryUnconfirmed, SoftTimeLimitExceeded) as error:
        # The relay may hold the message (unanswered end of DATA; the task's soft time
        # limit, which can fall anywhere in the dialogue).
        return _after_unconfirmed_send(row, f"{type(error).__name__}: {error}"[:2000])
    except (smtplib.SMTPException, OSError) as error:
        reason = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts > len(retry_delays()) or _is_permanent(error):
            if not _finish(row, status=OutboundEmail.Status.FAILED, last_error=reason):
                return Delivery(status=CLAIM_LOST)
            logger.warning(
                "outbox %s failed for good after %s tries: %s", row.pk, row.attempts, reason
            )
            return Delivery(status=OutboundEmail.Status.FAILED)
        return _retry_later(row, last_error=reason)
    except Exception as error:
        # A bug, not a network problem: it would meet every try. Fail the row at once with
        # the reason, never leave it claimed, never send it again.
        logger.exception(
            "outbox %s: a bug while %s", row.pk, "sending" if composed else "composing"
        )
        reason = f"{type(error).__name__}: {error}"
        if not composed:
            reason = f"{COMPOSE_FAILED} {reason}"
        if not _finish(row, status=OutboundEmail.Status.FAILED, last_error=reason[:2000]):
            return Delivery(status=CLAIM_LOST)
        return Delivery(status=OutboundEmail.Status.FAILED)
    if not _finish(row, status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""):
        return Delivery(status=CLAIM_LOST)
    return Delivery(status=OutboundEmail.Status.SENT)


def _retry_later(row: OutboundEmail, **fields) -> Delivery:
    delay = retry_delays()[row.attempts - 1]
    if not _close(
        row,
        status=OutboundEmail.Status.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        **fields,
    ):
        return Delivery(status=CLAIM_LOST)  # no retry: the row is another worker's now
    return Delivery(status=OutboundEmail.Status.QUEUED, retry_in=delay)


def _after_unconfirmed_send(row: OutboundEmail, reason: str) -> Delivery:
    """The relay holds the message but never said so. Once, try again (same Message-ID, so
    a repeat can be recognised); a second time, or after the last try, stop and say why."""
    if row.unconfirmed_sends or row.attempts > len(retry_delays()):
        if not _finish(
            row,
            status=OutboundEmail.Status.FAILED,
            unconfirmed_sends=F("unconfirmed_sends") + 1,
            last_error=f"{UNCONFIRMED_TWICE} {reason}"[:2000],
        ):
            return Delivery(status=CLAIM_LOST)
        logger.warning("outbox %s: no confirmation from the relay, given up: %s", row.pk, reason)
        return Delivery(status=OutboundEmail.Status.FAILED)
    return _retry_later(row, unconfirmed_sends=F("unconfirmed_sends") + 1, last_error=reason)


def clear_expired_sessions() -> int:
    """Delete the sessions past their expiry (what Django's clearsessions does; nothing else
    ever deletes a session that was simply abandoned). Beat runs it hourly. How many went."""
    model = SessionStore.get_model_class()
    expired = model.objects.filter(expire_date__lt=timezone.now()).count()
    SessionStore.clear_expired()
    logger.info("cleared %d expired sessions", expired)
    return expired


def sweep_outbox(now=None) -> dict[str, int]:
    """Send what is due and was never delivered (broker down, eager mode's retries): oldest
    first, each row at most once per grace period. A row still "sending" after the lease
    lost its worker (killed, or its database went away) and whether it went out is unknown:
    it is sent once more under the same Message-ID, and given up with a reason for helpdesk
    when that try is lost or unanswered too."""
    now = now or timezone.now()
    resent, given_up = [], 0
    lost = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.SENDING, claimed_at__lt=now - sending_lease()
    ).only("pk", "claimed_at", "unconfirmed_sends", "carries_secret")
    for row in lost:
        # Conditional on the claim seen, so two sweeps never both act on the same row.
        same_claim = OutboundEmail.objects.filter(
            pk=row.pk, status=OutboundEmail.Status.SENDING, claimed_at=row.claimed_at
        )
        if row.unconfirmed_sends:
            given_up += same_claim.update(
                **_final(
                    row,
                    status=OutboundEmail.Status.FAILED,
                    unconfirmed_sends=F("unconfirmed_sends") + 1,
                    last_error=str(UNCONFIRMED_TWICE),
                )
            )
        elif same_claim.update(
            status=OutboundEmail.Status.QUEUED,
            unconfirmed_sends=F("unconfirmed_sends") + 1,
            next_attempt_at=now,
            last_error=str(LOST_ONCE),
        ):
            resent.append(row.pk)
    overdue = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED, next_attempt_at__lt=now - SWEEP_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    # Due now, and not picked again by the next sweep until another grace period passes.
    OutboundEmail.objects.filter(pk__in=overdue, status=OutboundEmail.Status.QUEUED).update(
        next_attempt_at=now
    )
    for pk in resent + overdue:
        emails.dispatch(pk)
    return {"requeued": len(overdue), "resent": len(resent), "given_up": given_up}


def resend_outbound_email(*, outbound_email: OutboundEmail, actor, request=None) -> OutboundEmail:
    """Helpdesk resend. A set-password mail is resent with a fresh link (the old body is
    cleared and helpdesk never sees links); other mails with a one-time secret cannot be
    resent (the person asks again); a failed plain mail is queued again, a sent one copied."""
    if outbound_email.status in (OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING):
        raise ValidationError(_("這封信還在寄送中。"))
    account = outbound_email.account
    with transaction.atomic():
        if outbound_email.carries_secret:
            if (
                outbound_email.kind not in SET_PASSWORD_MAILS
                or account is None
                or account.state != Account.State.PENDING
            ):
                raise ValidationError(
                    _(
                        "這封信含一次性的驗證碼或連結，無法重寄；請使用者重新申請（忘記密碼、變更信箱等）。"
                    )
                )
            row = emails.verification_resent(
                account=account, link=issue_set_password_link(account=account)
            )
        elif outbound_email.status == OutboundEmail.Status.FAILED:
            # A deliberate resend is a new message: under the old Message-ID a mailbox that
            # got the first try would drop it as a repeat. (The automatic resends keep it.)
            row = outbound_email
            row.status = OutboundEmail.Status.QUEUED
            row.attempts = row.unconfirmed_sends = 0
            row.next_attempt_at = timezone.now()
            row.message_id = new_message_id()
            row.save(
                update_fields=[
                    "status",
                    "attempts",
                    "unconfirmed_sends",
                    "next_attempt_at",
                    "message_id",
                ]
            )
            transaction.on_commit(lambda: emails.dispatch(row.pk))
        else:
            row = OutboundEmail.objects.create(
                kind=outbound_email.kind,
                account=account,
                to_address=outbound_email.to_address,
                subject=outbound_email.subject,
                body_text=outbound_email.body_text,
                body_html=outbound_email.body_html,
            )
            transaction.on_commit(lambda: emails.dispatch(row.pk))
        record_security_event(
            kind=Kind.MAIL_RESENT,
            account=account,
            actor=actor,
            request=request,
            detail={"outbound_email": row.pk, "kind": row.kind, "resent_from": outbound_email.pk},
        )
    return row


# --- Public self-service forms ----------------------------------------------------------
# Each answers the same whether or not the data matched, and does the same work in the
# request: it hands what was typed to a Celery task after commit, match or miss. The task
# looks the person up and, only for a match, writes, mails and logs. So with a live broker
# neither the page, the status, the redirect nor the time the request takes tells a match
# from a miss. (Not on the embedded default, where the task runs eagerly in the view: see
# _hand_off.) When the broker cannot take the task, the request is kept, encrypted, as a
# PendingPublicRequest (one INSERT, match or miss) and the sweep runs the matching later
# (sweep_public_requests).

PendingKind = PendingPublicRequest.Kind

# The task each kind of request is handed to.
PUBLIC_FORM_TASKS = {
    PendingKind.VERIFICATION_RESEND: "resend_verification_if_matching",
    PendingKind.PASSWORD_RESET: "send_password_reset_code_if_matching",
    PendingKind.PASSWORD_RESET_AGAIN: "resend_password_reset_code_if_matching",
    PendingKind.ACCOUNT_LIST: "send_account_list_if_matching",
}


def _hand_off(kind: str, **fields) -> None:
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
    from accounts import tasks

    task = getattr(tasks, PUBLIC_FORM_TASKS[kind])

    def publish():
        through_broker = not task.app.conf.task_always_eager
        if through_broker and not breaker.broker.allow():  # failed a moment ago: not tried
            keep_public_request(kind=kind, fields=fields, reason="CircuitOpen")
            return
        try:
            task.apply_async(kwargs=fields, argsrepr="()", kwargsrepr="{…}")
        except (KombuError, OSError) as error:
            if through_broker:
                breaker.broker.failed(error)
            keep_public_request(kind=kind, fields=fields, reason=type(error).__name__)
        else:
            if through_broker:
                breaker.broker.succeeded()

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


def _same_text(a: str, b: str) -> bool:
    return (
        unicodedata.normalize("NFKC", a or "").strip()
        == unicodedata.normalize("NFKC", b or "").strip()
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
        and _same_text(account.full_name, full_name)
        and account.email.strip().lower() == email.strip().lower()
    ):
        return account
    return None


def request_verification_resend(*, full_name: str, username: str, email: str, request=None) -> None:
    """The form's side: hand what was typed to the task (send_verification_resend)."""
    _hand_off(
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
        emails.verification_resent(account=account, link=link)
        record_security_event(
            kind=Kind.VERIFICATION_RESENT, account=account, actor=None, origin=origin
        )


RESET_PREFIX_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read like 1 and 0


@dataclass(frozen=True)
class ResetFlow:
    """What the forgot-password pages keep in the session between the two steps: the typed
    login name, the prefix shown, and a random secret that ties this session to the code a
    match produced (the request never learns whether step 1 matched; the pages look the
    same either way)."""

    username: str
    prefix: str
    secret: str
    sent_at: float

    def as_session(self) -> dict:
        return {
            "username": self.username,
            "prefix": self.prefix,
            "secret": self.secret,
            "sent_at": self.sent_at,
        }

    @classmethod
    def from_session(cls, data) -> "ResetFlow | None":
        try:
            return cls(data["username"], data["prefix"], data["secret"], float(data["sent_at"]))
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def tag(self) -> str:
        """What the task gets in place of the session's secret (the broker never sees it)."""
        return salted_hmac(
            "portal.password-reset-flow", self.secret, algorithm="sha256"
        ).hexdigest()


def _reset_code_hash(account_id: int, flow_tag: str, prefix: str, code: str) -> str:
    """The stored form of a code: 32 hex of an HMAC that ties the row to the session that
    asked for it (``_reset_flow_binding``), then 32 hex of an HMAC of the code itself; both
    keyed with SECRET_KEY, so a copy of the database alone cannot be searched for the code."""
    code_part = salted_hmac(
        "portal.password-reset-code", f"{account_id}:{flow_tag}:{prefix}:{code}", algorithm="sha256"
    ).hexdigest()[:32]
    return _reset_flow_binding(account_id, flow_tag) + code_part


def _reset_flow_binding(account_id: int, flow_tag: str) -> str:
    return salted_hmac(
        "portal.password-reset-binding", f"{account_id}:{flow_tag}", algorithm="sha256"
    ).hexdigest()[:32]


def _new_prefix(unlike: str = "") -> str:
    while True:
        prefix = "".join(secrets.choice(RESET_PREFIX_LETTERS) for _ in range(2))
        if prefix != unlike:
            return prefix


# A session's resend looks this far back for the code its step 1 produced.
RESET_FLOW_HOURS = 12


def _flow_codes(account: Account, flow_tag: str, **filters) -> list[PasswordResetCode]:
    """The codes some task of this flow made for the account (recent ones only)."""
    binding = _reset_flow_binding(account.pk, flow_tag)
    since = timezone.now() - timedelta(hours=RESET_FLOW_HOURS)
    rows = account.password_reset_codes.filter(created_at__gte=since, **filters)
    return [row for row in rows if constant_time_compare(row.code_hash[:32], binding)]


def _issue_reset_code(
    *, account: Account, flow_tag: str, prefix: str, typed: dict, step: str, origin=None
) -> None:
    """Mail a new code of this flow behind ``prefix``, replacing the account's earlier ones.
    Idempotent per flow, since a task may run twice (acks_late: a worker lost after its
    commit) or late: step 1 does nothing once its flow has any code (a re-run must not
    revoke the live code and mail again), a resend nothing once its prefix has a live code
    of the flow. The account row is locked so two copies cannot both pass the check."""
    now = timezone.now()
    code = f"{secrets.randbelow(10**8):08d}"
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if step == "start":
            done = _flow_codes(account, flow_tag)
        else:
            done = _flow_codes(account, flow_tag, prefix=prefix, used_at=None, revoked_at=None)
        if done:
            logger.info("password reset task for account %s ran before; nothing to do", account.pk)
            return
        account.password_reset_codes.filter(used_at=None, revoked_at=None).update(revoked_at=now)
        PasswordResetCode.objects.create(
            account=account,
            prefix=prefix,
            code_hash=_reset_code_hash(account.pk, flow_tag, prefix, code),
            created_at=now,
            expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_CODE_MINUTES),
        )
        emails.password_reset_code(account=account, prefix=prefix, code=code, typed=typed)
        record_security_event(
            kind=Kind.PASSWORD_RESET_REQUESTED, account=account, actor=None, origin=origin
        )


def start_password_reset(*, full_name: str, username: str, email: str, request=None) -> ResetFlow:
    """Step 1, the form's side: a new 2-letter prefix and flow, and what was typed handed to
    the task (send_password_reset_code), match or miss."""
    flow = ResetFlow(
        username=normalize_login_name(username),
        prefix=_new_prefix(),
        secret=secrets.token_urlsafe(24),
        sent_at=timezone.now().timestamp(),
    )
    _hand_off(
        PendingKind.PASSWORD_RESET,
        full_name=full_name,
        username=username,
        email=email,
        prefix=flow.prefix,
        flow_tag=flow.tag,
        origin=request_origin(request),
    )
    return flow


def send_password_reset_code(
    *,
    full_name: str,
    username: str,
    email: str,
    prefix: str,
    flow_tag: str,
    origin: dict | None = None,
) -> None:
    """Step 1, the task's side: mail an 8-digit code behind the prefix the page shows when
    all three match an active account."""
    account = find_person(
        full_name=full_name, username=username, email=email, states=[Account.State.ACTIVE]
    )
    if account is None:
        return
    typed = {"full_name": full_name, "username": normalize_login_name(username), "email": email}
    _issue_reset_code(
        account=account, flow_tag=flow_tag, prefix=prefix, typed=typed, step="start", origin=origin
    )


def resend_password_reset_code(*, flow: ResetFlow, request=None) -> ResetFlow:
    """「重寄驗證信」: a new prefix for this session, at most once a minute; the task mails a
    new code behind it when this session's step 1 matched."""
    wait = settings.PASSWORD_RESET_RESEND_SECONDS - (timezone.now().timestamp() - flow.sent_at)
    if wait > 0:
        raise ValidationError(_("請稍候 %(seconds)d 秒再重寄驗證信。") % {"seconds": int(wait) + 1})
    # Another prefix than the one shown: the task tells a re-run by the prefix.
    flow = ResetFlow(
        flow.username, _new_prefix(unlike=flow.prefix), flow.secret, timezone.now().timestamp()
    )
    _hand_off(
        PendingKind.PASSWORD_RESET_AGAIN,
        username=flow.username,
        prefix=flow.prefix,
        flow_tag=flow.tag,
        origin=request_origin(request),
    )
    return flow


def send_password_reset_code_again(
    *, username: str, prefix: str, flow_tag: str, origin: dict | None = None
) -> bool:
    """The resend's task side: a new code behind the new prefix, replacing the old, when a
    code of this flow exists (its step 1 matched an account that is still active). False
    when there is none: step 1 missed, or its task has not run yet (a backlogged worker;
    the task then tries again a little later)."""
    account = _reset_flow_account(username, flow_tag)
    if account is None:
        return False
    typed = {"full_name": account.full_name, "username": account.username, "email": account.email}
    _issue_reset_code(
        account=account, flow_tag=flow_tag, prefix=prefix, typed=typed, step="again", origin=origin
    )
    return True


def _reset_flow_account(username: str, flow_tag: str) -> Account | None:
    """The active account whose code some request of this flow produced, or None."""
    account = (
        Account.objects.select_related("unit")
        .filter(username=normalize_login_name(username), state=Account.State.ACTIVE)
        .first()
    )
    if account is None:
        return None
    return account if _flow_codes(account, flow_tag) else None


def normalize_reset_code(value: str) -> str:
    """Accept the code as people paste it: with the prefix (AB-12345678), spaces or dashes."""
    value = unicodedata.normalize("NFKC", value or "").upper()
    value = re.sub(r"^[A-Z]{2}\s*-?", "", value.strip())
    return re.sub(r"[\s\-]", "", value)


def check_password_reset_code(
    *, flow: ResetFlow, code: str, request=None
) -> PasswordResetCode | None:
    """The usable code row when ``code`` is right. A wrong code counts one of the 5 tries
    (committed even though the caller will refuse the form); None otherwise. A wrong code
    costs the same queries whether or not this session's step 1 matched (no code, someone
    else's code, a dead one): the step-2 page is no oracle for step 1 either."""
    code = normalize_reset_code(code)
    with transaction.atomic():
        row = (
            PasswordResetCode.objects.select_for_update(of=("self",))
            .select_related("account__unit")
            .filter(
                account__username=flow.username,
                account__state=Account.State.ACTIVE,
                prefix=flow.prefix,
                used_at=None,
                revoked_at=None,
            )
            .order_by("-created_at")
            .first()
        )
        # A code this session did not ask for (its step 1 missed) is no code for it.
        ours = (
            row is not None
            and constant_time_compare(
                row.code_hash[:32], _reset_flow_binding(row.account_id, flow.tag)
            )
            and row.is_usable()
        )
        if ours:
            expected = _reset_code_hash(row.account_id, flow.tag, flow.prefix, code)
            if constant_time_compare(row.code_hash, expected):
                return row
        PasswordResetCode.objects.filter(pk=row.pk if ours else 0).update(
            failed_attempts=F("failed_attempts") + 1
        )
        # The typed login name of step 1 is logged only when it names an account: anything
        # else (a password typed into the name box) as its keyed hash. One lookup either way.
        record_security_event(
            kind=Kind.PASSWORD_RESET_CODE_FAILED,
            account=row.account if ours else None,
            username=lockout_name(flow.username),
            request=request,
        )
    return None


def finalize_password_reset(
    *, flow: ResetFlow, code: str, new_password: str, request=None
) -> Account:
    """Step 2: a right code and a new password that passes the policy (history included).
    The reset ends every session of the account (Django ties sessions to the password
    hash) and lifts a lockout."""
    row = check_password_reset_code(flow=flow, code=code, request=request)
    if row is None:
        raise ValidationError({"code": [reset_code_error()]})
    account = row.account
    try:
        validate_new_password(new_password, account)
    except ValidationError as error:
        raise ValidationError({"new_password1": error.messages}) from error
    with transaction.atomic():
        claimed = PasswordResetCode.objects.filter(
            pk=row.pk,
            used_at=None,
            revoked_at=None,
            expires_at__gt=timezone.now(),
            failed_attempts__lt=settings.PASSWORD_RESET_CODE_TRIES,
        ).update(used_at=timezone.now())
        if not claimed:
            raise ValidationError({"code": [reset_code_error()]})
        _store_new_password(account, new_password)
        axes_reset(username=account.username)
        record_security_event(
            kind=Kind.PASSWORD_RESET, account=account, actor=account, request=request
        )
        emails.password_changed(account=account, how="reset")
    return account


def reset_code_error() -> str:
    return _(
        "驗證碼錯誤或已失效（60 分鐘內有效，錯誤 5 次即失效）。"
        "請確認是最新一封信的驗證碼，或按「重寄驗證信」。"
    )


def _store_new_password(account: Account, new_password: str) -> None:
    """A new password also ends any e-mail change still waiting for confirmation: it may be
    an intruder's, made with the password now replaced."""
    account.set_password(new_password)
    account.password_changed_at = timezone.now()
    account.password_policy = account.password_policy_stamp  # validated by every caller
    account.save(update_fields=["password", "password_changed_at", "password_policy"])
    account.email_change_requests.filter(used_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )


def lookup_accounts(*, unit_code: str, email: str, request=None) -> None:
    """Forgot account, the form's side: hand what was typed to the task (send_account_list)."""
    _hand_off(
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
        emails.account_lookup(email=accounts[0].email, unit=unit, accounts=accounts)
        for account in accounts:
            record_security_event(kind=Kind.ACCOUNT_LOOKUP, account=account, origin=origin)


# --- Requests the broker could not take ---------------------------------------------------


NO_STEP_ONE_CODE = "its step 1 produced no code"


class _NotYet(Exception):
    """A resend whose step 1 has produced no code yet (its task may still be on its way)."""


def _resend_reset_code(**fields) -> None:
    if not send_password_reset_code_again(**fields):
        raise _NotYet


# What the sweep runs for each kind: the service the kind's task runs.
PENDING_SERVICES = {
    PendingKind.VERIFICATION_RESEND: send_verification_resend,
    PendingKind.PASSWORD_RESET: send_password_reset_code,
    PendingKind.PASSWORD_RESET_AGAIN: _resend_reset_code,
    PendingKind.ACCOUNT_LIST: send_account_list,
}

# A kept request is dropped unprocessed once what it would produce could no longer be used:
# the reset code's validity; a set-password link or a list of login names arriving later
# than an hour after the form would surprise more than help (the person asks again).
PENDING_REQUEST_MINUTES = {
    PendingKind.VERIFICATION_RESEND: 60,
    PendingKind.PASSWORD_RESET: settings.PASSWORD_RESET_CODE_MINUTES,
    PendingKind.PASSWORD_RESET_AGAIN: settings.PASSWORD_RESET_CODE_MINUTES,
    PendingKind.ACCOUNT_LIST: 60,
}
# Tries per kept request (each sweep makes one) before it is dropped with a log line.
PENDING_REQUEST_TRIES = 3
# A claim older than this lost its sweep (killed, or its database went away): the row is
# claimed again. Its processing commits with the row's delete, so a lost sweep did nothing.
PENDING_REQUEST_LEASE = timedelta(minutes=5)


def sweep_public_requests(now=None) -> dict[str, int]:
    """Process the public form requests kept while the broker was down, oldest first (a
    forgot-password step 1 before its resend): each is claimed by one sweep (a conditional
    UPDATE, so two sweeps at once never both take it, on PostgreSQL and SQLite alike), its
    matching runs as the task would, and the row is deleted in the same transaction, so a
    request is processed exactly once. A failure leaves the row for the next sweep, at most
    PENDING_REQUEST_TRIES times; a row older than what it would produce is dropped. Log
    lines name the kind and the row's id, never a typed value."""
    now = now or timezone.now()
    counts = {"processed": 0, "skipped": 0, "expired": 0, "retried": 0, "dropped": 0}
    for kind, minutes in PENDING_REQUEST_MINUTES.items():
        expired = PendingPublicRequest.objects.filter(
            kind=kind, created_at__lt=now - timedelta(minutes=minutes)
        )
        for pk in expired.values_list("pk", flat=True):
            if PendingPublicRequest.objects.filter(pk=pk).delete()[0]:
                counts["expired"] += 1
                logger.info("public form request %s (%s) expired unprocessed; dropped", pk, kind)
    due = PendingPublicRequest.objects.filter(
        Q(claimed_at=None) | Q(claimed_at__lt=now - PENDING_REQUEST_LEASE)
    ).values_list("pk", "claimed_at")[:500]
    for pk, seen in list(due):
        counts[_process_public_request(pk, seen)] += 1
    return counts


def _process_public_request(pk: int, seen) -> str:
    claim = timezone.now()
    claimed = PendingPublicRequest.objects.filter(pk=pk, claimed_at=seen).update(
        claimed_at=claim, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"  # another sweep has it
    row = PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim).first()
    if row is None:
        return "skipped"
    try:
        with transaction.atomic():
            # Ours still (not expired or claimed again meanwhile): the delete commits with
            # what the matching writes, or neither does.
            if not PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim).delete()[0]:
                return "skipped"
            fields = json.loads(two_factor.decrypt_secret(row.payload))
            PENDING_SERVICES[row.kind](**fields)
    except _NotYet:
        reason = NO_STEP_ONE_CODE
    except Exception as error:
        reason = type(error).__name__
    else:
        return "processed"
    mine = PendingPublicRequest.objects.filter(pk=pk, claimed_at=claim)
    if row.attempts >= PENDING_REQUEST_TRIES:
        mine.delete()
        # A resend whose step 1 missed ends here too: that is no fault.
        logger.log(
            logging.INFO if reason == NO_STEP_ONE_CODE else logging.WARNING,
            "public form request %s (%s) dropped after %d tries (%s)",
            pk,
            row.kind,
            row.attempts,
            reason,
        )
        return "dropped"
    mine.update(claimed_at=None)
    logger.info("public form request %s (%s) left for the next sweep (%s)", pk, row.kind, reason)
    return "retried"


# --- The signed-in account's own changes --------------------------------------------------


def update_profile(
    *, account: Account, full_name: str, office: str, title: str, phone: str, request=None
):
    changed = {}
    for field, value in {
        "full_name": full_name,
        "office": office,
        "title": title,
        "phone": phone,
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
            actor=account,
            request=request,
            detail={"fields": sorted(changed)},
        )
    return account


def change_password(
    *, account: Account, current_password: str, new_password: str, request
) -> Account:
    """Own password change, also the admin's (its page leads here): the current password
    re-checked through the lockout, then the policy with history (only then: the history
    holds the current password, so its answer must not be had without it), the other
    sessions ended (this one kept), a notice mailed."""
    password_error = check_password_again(
        account=account, password=current_password, request=request, purpose="password_change"
    )
    if password_error:
        raise ValidationError({"old_password": [password_error]})
    try:
        validate_new_password(new_password, account)
    except ValidationError as error:
        raise ValidationError({"new_password1": error.messages}) from error
    with transaction.atomic():
        _store_new_password(account, new_password)
        record_security_event(
            kind=Kind.PASSWORD_CHANGED, account=account, actor=account, request=request
        )
        emails.password_changed(account=account, how="change")
    update_session_auth_hash(request, account)
    request.session.pop(PASSWORD_CHANGE_REQUIRED, None)
    return account


def request_email_change(*, account: Account, new_email: str, password: str, request) -> None:
    """A confirmation link to the new address after the password is re-checked through the
    lockout; the old address stays until the link is used, and is told now."""
    error = check_password_again(
        account=account, password=password, request=request, purpose="email_change"
    )
    if error:
        raise ValidationError({"password": [error]})
    with transaction.atomic():
        _propose_email(account=account, new_email=new_email.strip(), actor=account, request=request)


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
        emails.email_change_confirm(account=account, new_email=new_email, link=link)
        emails.email_change_notice(account=account, new_email=new_email)
    else:
        emails.email_change_proposed(
            account=account, new_email=new_email, link=link, requester=actor
        )
        emails.email_change_proposed_notice(account=account, new_email=new_email, requester=actor)
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


def _revoke_email_changes_asked_by(requester: Account, now) -> int:
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
    new_email = new_email.strip()
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
        emails.email_changed_notice(account=account, old_email=old_email, requester=actor)
        emails.account_created(account=account, link=issue_set_password_link(account=account))
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


# --- Required actions at sign-in ----------------------------------------------------------

PASSWORD_CHANGE_REQUIRED = "password_change_required"


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


# --- The main-account holder's work -------------------------------------------------------


def validate_new_local_part(
    *, unit: Unit, local_part: str, person: Profile | None = None
) -> tuple[str, list[str]]:
    """The normalized local part and what is wrong with it (SPEC section 2): letters,
    digits, "." and "-", 2 to 30 characters, not used before in the unit by anyone (a
    disabled account keeps its name: a successor gets a new one). A name freed by an
    account reset may be taken again only by the same person (``person``: name, e-mail)."""
    local_part = normalize_login_name(local_part)
    try:
        local_part_validator(local_part)
    except ValidationError as error:
        return local_part, error.messages
    released = (
        ReleasedLocalPart.objects.filter(unit=unit, local_part=local_part)
        .order_by("-released_at")
        .first()
    )
    if released is not None and (
        person is None or not released.belongs_to(full_name=person.full_name, email=person.email)
    ):
        return local_part, [_("這個帳號以前屬於另一位人員，不可再給別人使用；請換一個。")]
    if Account.objects.filter(username=f"{unit.code}_{local_part}".lower()).exists():
        return local_part, [
            _("帳號 %(username)s 已有人使用（含已停用的帳號），請換一個。")
            % {"username": f"{unit.code}_{local_part}".lower()}
        ]
    return local_part, []


def create_sub_account(
    *,
    unit: Unit,
    local_part: str,
    profile: Profile,
    stations=(),
    actor,
    request=None,
    checked=False,
):
    """A pending sub-account of the unit with its account-created mail and station grants.

    ``checked``: the caller (the CSV import) has already validated the name and profile
    against the unit in bulk; the database's unique constraint still guards the name.
    """
    from stations.models import StationGrant

    if not checked:
        local_part, problems = validate_new_local_part(
            unit=unit, local_part=local_part, person=profile
        )
        errors = validate_profile(profile)
        if problems:
            errors["local_part"] = problems
        if errors:
            raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = _new_pending_account(
                unit=unit,
                local_part=local_part,
                role=Account.Role.SUB,
                profile=profile,
                actor=actor,
                request=request,
            )
            # A new account has no grants yet: add them in two statements, not one per station.
            stations = list(stations)
            StationGrant.objects.bulk_create(
                StationGrant(account=account, station=station, granted_by=actor)
                for station in stations
            )
            SecurityEvent.objects.bulk_create(
                _event(Kind.STATION_GRANTED, account, actor, request, {"station": station.slug})
                for station in stations
            )
    except IntegrityError as error:  # the same name created at the same moment
        raise ValidationError({"local_part": [_("這個帳號剛剛已被建立，請換一個。")]}) from error
    return account


def set_stations(*, account: Account, stations, among, actor, request=None) -> None:
    """Grant exactly ``stations`` out of ``among`` (the stations the actor was shown),
    revoking the others of ``among``; grants outside it are left alone."""
    from stations.models import Station
    from stations.services import grant_station, revoke_station

    shown = {station.pk for station in among}
    wanted = {station.pk for station in stations} & shown
    current = set(account.station_grants.values_list("station_id", flat=True)) & shown
    with transaction.atomic():
        for station in Station.objects.filter(pk__in=wanted - current):
            grant_station(account=account, station=station, actor=actor, request=request)
        for station in Station.objects.filter(pk__in=current - wanted):
            revoke_station(account=account, station=station, actor=actor, request=request)


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
    from oauth2_provider.models import (
        get_access_token_model,
        get_grant_model,
        get_refresh_token_model,
    )

    _require_right_to_switch(account, actor)
    if account.state == Account.State.DISABLED:
        return
    with transaction.atomic():
        account.state = Account.State.DISABLED
        account.save(update_fields=["state"])
        end_sessions(account)
        revoked = _revoke_email_changes_asked_by(account, timezone.now())
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
        emails.verification_resent(account=account, link=issue_set_password_link(account=account))
        record_security_event(
            kind=Kind.VERIFICATION_RESENT, account=account, actor=actor, request=request
        )


def transfer_main_role(
    *, holder: Account, successor_username: str, password: str, request
) -> Account:
    """Hand the main role to an active sub-account of the same unit. The password is checked
    through the sign-in machinery, so a wrong one counts toward the lockout. The unit row
    is locked, so two transfers at once cannot leave zero or two main accounts. The e-mail
    changes the former holder asked for the unit's accounts and nobody confirmed yet end
    with the role (the event counts them)."""
    successor_username = normalize_login_name(successor_username)
    errors: dict[str, list[str]] = {}
    password_error = check_password_again(
        account=holder, password=password, request=request, purpose="main_role_transfer"
    )
    if password_error:
        errors["password"] = [password_error]
    successor = (
        Account.objects.filter(
            unit_id=holder.unit_id, username=successor_username, role=Account.Role.SUB
        )
        .exclude(pk=holder.pk)
        .first()
    )
    if successor is None:
        errors["successor"] = [
            _("找不到這個子帳號：請輸入貴單位子帳號的完整帳號，例如 %(code)s_teacher01。")
            % {"code": holder.unit.code}
        ]
    elif successor.state != Account.State.ACTIVE:
        errors["successor"] = [_("接任者的帳號必須已開通且未停用。")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Unit.objects.select_for_update().get(pk=holder.unit_id)
        former = Account.objects.select_for_update().get(pk=holder.pk)
        chosen = Account.objects.select_for_update().get(pk=successor.pk)
        if (
            former.role != Account.Role.MAIN
            or chosen.role != Account.Role.SUB
            or chosen.state != Account.State.ACTIVE
        ):
            raise ValidationError({"successor": [_("主帳號剛剛已有變動，請重新整理後再試。")]})
        former.role = Account.Role.SUB
        former.save(update_fields=["role"])
        revoked = _revoke_email_changes_asked_by(former, timezone.now())
        chosen.role = Account.Role.MAIN
        chosen.save(update_fields=["role"])
        record_security_event(
            kind=Kind.MAIN_ROLE_TRANSFERRED,
            account=chosen,
            actor=former,
            request=request,
            detail={"from": former.username, "to": chosen.username}
            | ({"email_changes_revoked": revoked} if revoked else {}),
        )
        emails.main_role_transferred(former=former, successor=chosen)
    return chosen


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
        end_sessions(account)  # also when it was disabled before: nothing of it stays open
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

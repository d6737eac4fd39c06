"""Binding an authenticator app (SPEC /me/two-factor/, seed 002), recovery codes, unbinding,
and helpdesk's reset for someone who lost both the phone and the codes."""

from datetime import timedelta

from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import two_factor
from accounts.models import Account, RecoveryCode, SecurityEvent, TwoFactorDevice
from accounts.security_log import record_security_event
from accounts.services.reauthentication import check_password_again
from accounts.sessions import end_sessions
from mail import messages

Kind = SecurityEvent.Kind


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
        messages.two_factor_changed(account=account, what="enabled")
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
        messages.two_factor_changed(account=account, what="recovery_codes")
    return codes


def _keep_this_session(request, account: Account) -> None:
    """A binding change ends the account's other sessions (Account._get_session_auth_hash
    would refuse them at their next request; they are deleted now, so the stations hear of
    it); the one making the change goes on."""
    account._state.fields_cache.pop("two_factor", None)  # reload the binding as it is now
    keep = None
    if request is not None and getattr(request, "user", None) == account:
        update_session_auth_hash(request, account)
        keep = request.session
    end_sessions(account, reason="two_factor_changed", keep=keep)


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
        messages.two_factor_changed(account=account, what="disabled")
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
        end_sessions(account, reason="two_factor_changed")
        record_security_event(
            kind=Kind.TWO_FACTOR_RESET, account=account, actor=actor, request=request
        )
        messages.two_factor_changed(account=account, what="reset")


def reencrypt_two_factor_secrets() -> int:
    """Key rotation: every stored secret re-encrypted with the first configured key."""
    count = 0
    with transaction.atomic():
        for device in TwoFactorDevice.objects.select_for_update().only("encrypted_secret"):
            device.encrypted_secret = two_factor.cipher().rotate(device.encrypted_secret).decode()
            device.save(update_fields=["encrypted_secret"])
            count += 1
    return count

"""Set-password links (SPEC section 5): the single-use link a new account gets in its
account-created mail (and again from 補寄驗證信), and storing a new password."""

from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent, SetPasswordToken, hash_secret
from accounts.security_log import record_security_event
from accounts.validators import validate_new_password

Kind = SecurityEvent.Kind


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
        store_new_password(account, new_password)
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


def store_new_password(account: Account, new_password: str) -> None:
    """A new password also ends any e-mail change still waiting for confirmation: it may be
    an intruder's, made with the password now replaced."""
    account.set_password(new_password)
    account.password_changed_at = timezone.now()
    account.password_policy = account.password_policy_stamp  # validated by every caller
    account.save(update_fields=["password", "password_changed_at", "password_policy"])
    account.email_change_requests.filter(used_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )

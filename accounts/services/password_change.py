"""A signed-in person's own password change (/me/password/, also the admin's)."""

from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from accounts.services.reauthentication import check_password_again
from accounts.services.set_password import store_new_password
from accounts.services.sign_in import PASSWORD_CHANGE_REQUIRED
from accounts.sessions import end_sessions
from accounts.validators import validate_new_password
from mail import messages

Kind = SecurityEvent.Kind


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
        store_new_password(account, new_password)
        record_security_event(
            kind=Kind.PASSWORD_CHANGED, account=account, actor=account, request=request
        )
        messages.password_changed(account=account, how="change")
    update_session_auth_hash(request, account)
    end_sessions(account, reason="password_changed", keep=request.session)
    request.session.pop(PASSWORD_CHANGE_REQUIRED, None)
    return account

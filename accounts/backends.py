from django.contrib.auth.backends import ModelBackend

from accounts.models import Account, normalize_login_name
from accounts.validators import password_too_long


class AccountBackend(ModelBackend):
    """Password sign-in by login name, matched case-insensitively (names are stored lowercase).

    An unknown name costs the same password hash as a known one (ModelBackend's trick), so
    timing tells nothing. A disabled account that gave the right password is flagged on the
    request so the form can tell the person to contact the main-account holder; it still
    fails, like every other failure. A password over 128 characters fails at once, hashed
    for no name (the forms refuse it before; this backend is the guard behind them).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None or password_too_long(password):
            return None
        try:
            account = Account.objects.select_related("unit", "two_factor").get(
                username=normalize_login_name(username)
            )
        except Account.DoesNotExist:
            Account().set_password(password)
            return None
        if not account.check_password(password):
            return None
        if not self.user_can_authenticate(account):
            if request is not None:
                request.portal_disabled_account = True
            return None
        return account

    def get_user(self, user_id):
        try:
            account = Account.objects.select_related("unit", "two_factor").get(pk=user_id)
        except Account.DoesNotExist:
            return None
        return account if self.user_can_authenticate(account) else None

"""Sessions in the database, tied to their account, written once at sign-in: the model, its
store (SESSION_ENGINE), and ending an account's sessions."""

import logging

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class SessionStore(DatabaseSessionStore):
    """Django's database sessions in ``AccountSession``, whose ``account`` column names the
    signed-in account, so ``end_sessions`` can delete an account's sessions at once.

    ``login()`` rotates the session key (cycle_key): for a session that has no key yet (a
    browser that never stored anything, as at most sign-ins) Django would INSERT a row at
    once and UPDATE it when the response is sent. There is no old key to retire, so it is
    enough to mark the session changed: one INSERT, with a fresh key, when the response is
    sent. Sessions with a key are rotated as before."""

    @classmethod
    def get_model_class(cls):
        return AccountSession

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        try:
            row.account_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            row.account_id = None
        return row

    def cycle_key(self):
        if self.session_key is None:
            self._session_cache = self._session  # load (empty) before it is marked changed
            self.modified = True
            return
        super().cycle_key()


class AccountSession(AbstractBaseSession):
    """A session (Django's database session) that knows whose it is, so ending an account's
    sessions is one DELETE: disabling or resetting an account ends them for good instead of
    suspending them until it is enabled again (accounts.sessions.SessionStore fills it)."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="sessions"
    )

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"
        verbose_name = _("登入工作階段")
        verbose_name_plural = _("登入工作階段")

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


def end_sessions(account) -> int:
    """Delete every session of the account from the store: they are over, not suspended."""
    return SessionStore.get_model_class().objects.filter(account=account).delete()[0]


def clear_expired_sessions() -> int:
    """Delete the sessions past their expiry (what Django's clearsessions does; nothing else
    ever deletes a session that was simply abandoned). Beat runs it hourly. How many went."""
    expired = AccountSession.objects.filter(expire_date__lt=timezone.now()).count()
    SessionStore.clear_expired()
    logger.info("cleared %d expired sessions", expired)
    return expired

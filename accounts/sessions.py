"""Sessions in the database, tied to their account, written once at sign-in."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


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
        from accounts.models import AccountSession

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


def end_sessions(account) -> int:
    """Delete every session of the account from the store: they are over, not suspended."""
    return SessionStore.get_model_class().objects.filter(account=account).delete()[0]

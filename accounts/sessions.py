"""Sessions in the database, written once at sign-in instead of three times."""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    """Django's database sessions. ``login()`` rotates the session key (cycle_key): for a
    session that has no key yet (a browser that never stored anything, as at most sign-ins)
    Django would INSERT a row at once and UPDATE it when the response is sent. There is no
    old key to retire, so it is enough to mark the session changed: one INSERT, with a fresh
    key, when the response is sent. Sessions with a key are rotated as before."""

    def cycle_key(self):
        if self.session_key is None:
            self._session_cache = self._session  # load (empty) before it is marked changed
            self.modified = True
            return
        super().cycle_key()

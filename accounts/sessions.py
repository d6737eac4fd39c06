"""Sessions in the database, tied to their account, written once at sign-in: the model, its
store (SESSION_ENGINE), and ending sessions.

A sign-in is one session for as long as it lasts: its ``sid`` (a random id made at sign-in,
kept in the session and on its row) survives the key's rotation at a password change, and is
what the person's session list shows and what stations receive in their tokens. Whenever a
session ends while the portal sees it (sign-out, a timeout noticed at a request, a password
change or reset, a disabled or reset account, one ended from the session list, signing in
over another account's session), the ``session_ended`` signal names it, once, after the
transaction commits: stations send their back-channel logout from it. Not seen, hence not
announced: a session that simply expires (deleted by the hourly cleanup), and one whose
password hash changed outside the services (manage.py changepassword; a hasher upgrade at
sign-in), which Django ends silently at its next request."""

import logging
import secrets
from datetime import UTC, datetime

from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import connection, models, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# Session keys written at sign-in (accounts/services/sign_in.py start_session).
SID = "sid"
SIGNED_IN_AT = "signed_in_at"
# When the person last proved who they are in this session (epoch seconds): at sign-in and
# at each re-authentication, which keeps the session (its sid, its sign-in time). Stations
# receive it as ``auth_time``; the absolute lifetime still runs from SIGNED_IN_AT.
AUTHENTICATED_AT = "authenticated_at"
LAST_SEEN = "last_seen"
SIGN_IN = "sign_in"  # {"how": ..., "ip": ..., "ua": ...}

# Sent after commit for each session that ended: account, sid, reason ("signed_out", "idle",
# "absolute", "password_changed", "password_reset", "two_factor_changed", "disabled",
# "reset", "ended_by_person", "ended_by_helpdesk").
session_ended = Signal()


def new_sid() -> str:
    return secrets.token_urlsafe(24)


def _moment(timestamp):
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


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
        """The row, with what the session list shows kept in columns of its own."""
        row = super().create_model_instance(data)
        try:
            row.account_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            row.account_id = None
        if row.account_id is not None:
            sign_in = data.get(SIGN_IN) or {}
            row.sid = str(data.get(SID) or "")[:64]
            row.signed_in_at = _moment(data.get(SIGNED_IN_AT))
            row.last_seen_at = _moment(data.get(LAST_SEEN))
            row.signed_in_how = str(sign_in.get("how") or "")[:30]
            row.ip_address = sign_in.get("ip") or None
            row.user_agent = str(sign_in.get("ua") or "")[:300]
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
    sid = models.CharField(_("工作階段識別碼"), max_length=64, blank=True, db_index=True)
    signed_in_at = models.DateTimeField(_("登入時間"), null=True, blank=True)
    # How the sign-in was made: "password", "totp" or "recovery" (password and a second
    # factor), "passkey".
    signed_in_how = models.CharField(_("登入方式"), max_length=30, blank=True)
    ip_address = models.GenericIPAddressField(_("來源位址"), null=True, blank=True)
    user_agent = models.CharField(_("瀏覽器"), max_length=300, blank=True)
    last_seen_at = models.DateTimeField(_("最後活動"), null=True, blank=True)

    class Meta(AbstractBaseSession.Meta):
        db_table = "accounts_session"
        verbose_name = _("登入工作階段")
        verbose_name_plural = _("登入工作階段")
        indexes = [models.Index(fields=["account", "expire_date"], name="session_account_live")]

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


def live_sessions(account):
    """The account's sessions that have not expired, newest sign-in first."""
    return AccountSession.objects.filter(account=account, expire_date__gt=timezone.now()).order_by(
        "-signed_in_at", "-expire_date"
    )


def _announce(account, sids, reason: str) -> None:
    """Tell the listeners (stations' back-channel logout) once the deletion has committed. A
    listener that fails is logged and does not stop the others, nor the request that ended
    the session (whose own work has committed)."""
    sids = sorted({sid for sid in sids if sid})
    if not sids:
        return

    def send():
        for sid in sids:
            for receiver, answer in session_ended.send_robust(
                sender=AccountSession, account=account, sid=sid, reason=reason
            ):
                if isinstance(answer, Exception):
                    logger.error(
                        "session_ended listener %r failed for a session of account %s (%s): %r",
                        receiver,
                        account.pk,
                        reason,
                        answer,
                    )

    transaction.on_commit(send)


def _delete_returning_sids(condition: str, params: list) -> list[str]:
    """Delete session rows and say which: exactly the rows this statement deleted (DELETE ...
    RETURNING, on PostgreSQL and SQLite alike), so a session deleted at the same moment by
    another request is announced by that one alone, and one inserted meanwhile is not lost."""
    table = connection.ops.quote_name(AccountSession._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {condition} RETURNING sid", params)  # noqa: S608
        return [sid for (sid,) in cursor.fetchall()]


def end_sessions(account, *, reason: str, keep=None) -> int:
    """Delete the account's sessions from the store (all, or all but ``keep``, the session of
    the request making the change): they are over, not suspended. How many rows went."""
    condition, params = "account_id = %s", [account.pk]
    if keep is not None and keep.session_key:
        condition, params = condition + " AND session_key <> %s", [*params, keep.session_key]
    with transaction.atomic():
        sids = _delete_returning_sids(condition, params)
        _announce(account, sids, reason)
    return len(sids)


def end_session(account, *, sid: str, reason: str) -> bool:
    """End one session of the account (by its sid); False when it was not there."""
    if not sid:
        return False
    with transaction.atomic():
        sids = _delete_returning_sids("account_id = %s AND sid = %s", [account.pk, sid])
        _announce(account, sids, reason)
    return bool(sids)


def end_this_session(request, *, reason: str) -> None:
    """The session of this request ends (sign-out, a timeout seen at a request, signing in
    again over it): logged out, its row gone, and announced like every other ending — unless
    another request ended it first (that one announced it)."""
    account = request.user if request.user.is_authenticated else None
    key = request.session.session_key
    with transaction.atomic():
        sids = _delete_returning_sids("session_key = %s", [key]) if key else []
        logout(request)
        if account is not None:
            _announce(account, sids, reason)


def clear_expired_sessions() -> int:
    """Delete the sessions past their expiry (what Django's clearsessions does; nothing else
    ever deletes a session that was simply abandoned). Beat runs it hourly. How many went."""
    expired = AccountSession.objects.filter(expire_date__lt=timezone.now()).count()
    SessionStore.clear_expired()
    logger.info("cleared %d expired sessions", expired)
    return expired

"""The 3-strike, 15-minute lockout per login name, on django-axes (SECURITY.md)."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import Account
from accounts.normalize import normalize_login_name

UNKNOWN_NAME_PREFIX = "unknown:"

# The first key of the advisory locks taken around one login name's password check: a
# namespace of our own, so no other use of pg_advisory_xact_lock collides with these.
SIGN_IN_LOCK_NAMESPACE = 1301


def lockout_name(typed: str | None) -> str:
    """The name a sign-in's failures are counted and logged under: the login name of an
    account, or for a name that matches no account a keyed hash of it (``unknown:<hex>``),
    so a password typed into the name box is stored neither in the lockout table nor in the
    security event log. The same typed name gives the same hash, hence the same counter."""
    name = normalize_login_name(typed)
    if not name or Account.objects.filter(username=name).exists():
        return name
    digest = salted_hmac("accounts.lockout.unknown-name", name, algorithm="sha256").hexdigest()
    return UNKNOWN_NAME_PREFIX + digest[:32]


def username_for_lockout(request, credentials):
    """Axes counts per normalized login name, so ``010300_Test01`` and ``010300_test01`` share
    one counter, and unknown names count exactly like known ones (under their keyed hash).
    Axes asks several times per sign-in: the answer is kept on the request."""
    if credentials and credentials.get("username") is not None:
        typed = credentials["username"]
    else:
        data = getattr(request, "data", None) or request.POST
        typed = data.get("username")
    known = request.__dict__.setdefault("portal_lockout_names", {}) if request else {}
    if typed not in known:
        known[typed] = lockout_name(typed)
    return known[typed]


@contextmanager
def one_password_check_at_a_time(username: str):
    """Serialise the password checks of one login name: the lock check, the password check
    and the failure count happen inside one transaction that holds a lock on the name, so a
    burst of parallel sign-ins gets no more password checks than the tries it has left.

    PostgreSQL: a transaction-scoped advisory lock on the name (released at commit). SQLite
    allows one writer at a time: a write at the start takes the database's write lock for the
    whole transaction (as BEGIN IMMEDIATE would), which serialises every sign-in there."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    [SIGN_IN_LOCK_NAMESPACE, normalize_login_name(username)],
                )
            elif connection.vendor == "sqlite":  # an UPDATE of no row still takes the lock
                AccessAttempt.objects.filter(pk=-1).update(
                    failures_since_start=F("failures_since_start")
                )
        yield


@dataclass(frozen=True)
class LockState:
    failures: int
    locked_until: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def lock_state(username: str, now=None) -> LockState:
    """Failures counted for a login name (as ``lockout_name`` gives it) within the cool-off,
    and when its lock ends."""
    now = now or timezone.now()
    since = now - settings.AXES_COOLOFF_TIME
    totals = AccessAttempt.objects.filter(
        username=normalize_login_name(username), attempt_time__gte=since
    ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    failures = totals["failures"] or 0
    if failures >= settings.AXES_FAILURE_LIMIT:
        return LockState(failures, totals["last"] + settings.AXES_COOLOFF_TIME)
    return LockState(failures, None)


def lock_states(usernames) -> dict:
    """When each of these login names' lock ends (locked names only), as
    ``accounts.lockout.lock_state`` decides it for one name: failures within the cool-off
    summed per name, locked from AXES_FAILURE_LIMIT on, until the last failure plus the
    cool-off: one query for a page of names (helpdesk's list)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    rows = (
        AccessAttempt.objects.filter(username__in=usernames, attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    )
    return {
        row["username"]: row["last"] + settings.AXES_COOLOFF_TIME
        for row in rows
        if (row["failures"] or 0) >= settings.AXES_FAILURE_LIMIT
    }


class PerLoginNameHandler(AxesDatabaseHandler):
    """django-axes keeps one attempt row per (name, address, browser) and lets each row
    expire 15 minutes after its own last failure, so failures from two browsers would count
    and expire apart. We lock per login name only: store every failure of a name in one row,
    so the count is the name's and the lock ends 15 minutes after its third failure. The
    address and browser of each failure are in the security event log."""

    def get_failures(self, request, credentials=None) -> int:
        """Axes' count for the name (checked before the password), remembered on the request
        so that a success after no failures need not reset anything."""
        failures = super().get_failures(request, credentials)
        if request is not None:
            request.portal_lockout_failures = failures
        return failures

    def user_logged_in(self, sender, request, user, **kwargs):
        """At a success axes first deletes every expired attempt of every name (a query over
        the table at each sign-in), then this name's attempts. The sweep is left to failures,
        where axes runs it too; the reset stays (AXES_RESET_ON_SUCCESS), and is skipped when
        the name had no failures when its password was checked in this request (most
        sign-ins: one DELETE less; issue 8's sign-in profile)."""
        if not settings.AXES_RESET_ON_SUCCESS:
            return
        if getattr(request, "portal_lockout_failures", None) == 0:
            return
        AccessAttempt.objects.filter(username=normalize_login_name(user.get_username())).delete()

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            AxesProxyHandler.update_request(request)
            request.axes_ip_address = None
            request.axes_user_agent = ""
        return super().user_login_failed(sender, credentials, request, **kwargs)

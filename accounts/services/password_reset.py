"""Forgot password (SPEC section 5, two steps): an 8-digit code mailed behind a 2-letter
prefix that the page shows too, then the code and a new password. Both steps cost the same
for a match and a miss, and the code is bound to the session that asked for it."""

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts.lockout import lockout_name
from accounts.models import Account, PasswordResetCode, SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.security_log import record_security_event, request_origin
from accounts.services.public_requests import PendingKind, find_person, hand_off
from accounts.services.set_password import store_new_password
from accounts.sessions import end_sessions, end_this_session
from accounts.validators import validate_new_password
from mail import messages

logger = logging.getLogger(__name__)

Kind = SecurityEvent.Kind


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
        messages.password_reset_code(account=account, prefix=prefix, code=code, typed=typed)
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
    hand_off(
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
    hand_off(
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
        store_new_password(account, new_password)
        if request is not None and getattr(request, "user", None) == account:
            end_this_session(request, reason="password_reset")  # signed in, then forgot it
        end_sessions(account, reason="password_reset")
        axes_reset(username=account.username)
        record_security_event(
            kind=Kind.PASSWORD_RESET, account=account, actor=account, request=request
        )
        messages.password_changed(account=account, how="reset")
    return account


def reset_code_error() -> str:
    return _(
        "驗證碼錯誤或已失效（60 分鐘內有效，錯誤 5 次即失效）。"
        "請確認是最新一封信的驗證碼，或按「重寄驗證信」。"
    )

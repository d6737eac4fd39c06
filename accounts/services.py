"""Every change of state that matters in the accounts app. Each function runs in one
transaction, writes its security event and queues its mail after commit."""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate, login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.lockout import LockState, lock_state
from accounts.models import (
    Account,
    OutboundEmail,
    SecurityEvent,
    SetPasswordToken,
    hash_secret,
    local_part_validator,
    normalize_login_name,
)
from portal import emails
from schools.models import Unit

logger = logging.getLogger(__name__)

Kind = SecurityEvent.Kind


# --- Security event log -----------------------------------------------------------------


def record_security_event(
    *, kind, account=None, username="", actor=None, request=None, detail=None
):
    ip_address = user_agent = None
    if request is not None:
        ip_address = request.META.get("REMOTE_ADDR") or None
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
        if actor is None and getattr(request, "user", None) is not None:
            actor = request.user if request.user.is_authenticated else None
    return SecurityEvent.objects.create(
        kind=kind,
        account=account,
        username=username or (account.username if account else ""),
        actor=actor,
        ip_address=ip_address,
        user_agent=user_agent or "",
        detail=detail or {},
    )


# --- Creating accounts ------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    full_name: str
    office: str
    title: str
    phone: str
    email: str


def validate_profile(profile: Profile) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    labels = {
        "full_name": _("姓名"),
        "office": _("處室名稱"),
        "title": _("職稱"),
        "phone": _("電話(分機)"),
        "email": _("公務信箱"),
    }
    for name, label in labels.items():
        if not getattr(profile, name).strip():
            errors.setdefault(name, []).append(_("請填寫%(field)s。") % {"field": label})
    if profile.email.strip():
        try:
            validate_email(profile.email.strip())
        except ValidationError:
            errors.setdefault("email", []).append(_("信箱格式不正確，例如 name@school.edu.tw。"))
    return errors


def create_main_account(*, unit: Unit, local_part: str, profile: Profile, actor=None, request=None):
    """Create the unit's main account (pending) and send its account-created mail.

    Raises ValidationError (with a field → messages dict) when a value breaks the rules or
    the unit already has a main account.
    """
    local_part = normalize_login_name(local_part)
    errors = validate_profile(profile)
    try:
        local_part_validator(local_part)
    except ValidationError as error:
        errors.setdefault("local_part", []).extend(error.messages)
    username = f"{unit.code}_{local_part}".lower()
    if "local_part" not in errors and Account.objects.filter(username=username).exists():
        errors.setdefault("local_part", []).append(
            _("帳號 %(username)s 已有人使用，請換一個。") % {"username": username}
        )
    if Account.objects.filter(unit=unit, role=Account.Role.MAIN).exists():
        errors.setdefault("unit", []).append(
            _("單位 %(code)s 已有主帳號，請改用主帳號轉移。") % {"code": unit.code}
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = Account(
                username=username,
                unit=unit,
                local_part=local_part,
                role=Account.Role.MAIN,
                state=Account.State.PENDING,
                full_name=profile.full_name.strip(),
                office=profile.office.strip(),
                title=profile.title.strip(),
                phone=profile.phone.strip(),
                email=profile.email.strip(),
            )
            account.set_unusable_password()
            account.save()
            record_security_event(
                kind=Kind.ACCOUNT_CREATED,
                account=account,
                actor=actor,
                request=request,
                detail={"role": Account.Role.MAIN},
            )
            link = issue_set_password_link(account=account)
            emails.account_created(account=account, link=link)
    except IntegrityError as error:
        # Two operators creating the same unit's main account at once: the constraint wins.
        raise ValidationError(
            {"unit": [_("單位 %(code)s 已有主帳號。") % {"code": unit.code}]}
        ) from error
    return account


# --- Set-password links -----------------------------------------------------------------


def issue_set_password_link(*, account: Account) -> str:
    """A new single-use link; every earlier unused link of the account stops working."""
    now = timezone.now()
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
        validate_password(new_password, account)
        now = timezone.now()
        account.set_password(new_password)
        account.password_changed_at = now
        fields = ["password", "password_changed_at"]
        if account.state == Account.State.PENDING:
            account.state = Account.State.ACTIVE
            account.activated_at = now
            fields += ["state", "activated_at"]
        account.save(update_fields=fields)
        locked.used_at = now
        locked.save(update_fields=["used_at"])
        axes_reset(username=account.username)
        record_security_event(
            kind=Kind.PASSWORD_SET, account=account, actor=account, request=request
        )
    return account


# --- Signing in -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    account: Account | None
    username: str
    lock: LockState
    disabled: bool = False
    just_locked: bool = False

    @property
    def succeeded(self) -> bool:
        return self.account is not None


def sign_in(*, request, username: str, password: str) -> SignInResult:
    """Check a password through django-axes (per-name lockout) and start the session.

    Unknown names fail exactly like known ones: same counting, same answer.
    """
    username = normalize_login_name(username)
    account = authenticate(request, username=username, password=password)
    if account is not None:
        login(request, account)  # rotates the session key
        request.session["last_seen"] = int(timezone.now().timestamp())
        record_security_event(
            kind=Kind.SIGN_IN_SUCCEEDED, account=account, actor=account, request=request
        )
        return SignInResult(account=account, username=username, lock=LockState(0, None))

    known = Account.objects.filter(username=username).first()
    lock = lock_state(username)
    just_locked = getattr(request, "axes_failures_since_start", None) is not None and lock.locked
    if getattr(request, "axes_locked_out", False) and not just_locked:
        kind = Kind.SIGN_IN_REFUSED_LOCKED
    else:
        kind = Kind.SIGN_IN_FAILED
    disabled = getattr(request, "portal_disabled_account", False)
    record_security_event(
        kind=kind,
        account=known,
        username=username,
        actor=None,
        request=request,
        detail={"failures": lock.failures, "disabled": disabled}
        if disabled
        else {"failures": lock.failures},
    )
    if just_locked:
        record_security_event(
            kind=Kind.LOCKED_OUT,
            account=known,
            username=username,
            request=request,
            detail={"locked_until": lock.locked_until.isoformat()},
        )
    return SignInResult(
        account=None, username=username, lock=lock, disabled=disabled, just_locked=just_locked
    )


def unlock(*, username: str, actor, request=None) -> int:
    """Helpdesk unlock: forget the login name's failures at once."""
    username = normalize_login_name(username)
    count = axes_reset(username=username)
    record_security_event(
        kind=Kind.UNLOCKED,
        account=Account.objects.filter(username=username).first(),
        username=username,
        actor=actor,
        request=request,
        detail={"attempt_rows_removed": count},
    )
    return count


def locked_until(username: str) -> datetime | None:
    return lock_state(username).locked_until


# --- The outbox -------------------------------------------------------------------------

# Delays before the 2nd to 6th try; their sum (15.5 minutes) stays far under the Redis
# visibility timeout (one hour, portal/settings.py) so a waiting retry is never handed out twice.
RETRY_DELAYS = (30, 60, 120, 240, 480)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
STUCK_AFTER = timedelta(minutes=15)
SWEEP_GRACE = timedelta(minutes=2)
CLEARED_BODY = "（此信含設定密碼連結或驗證碼，寄出後內容已清除。）"


@dataclass(frozen=True)
class Delivery:
    status: str
    retry_in: int | None = None


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def deliver_outbound_email(*, outbound_email_id: int) -> Delivery:
    """Send one outbox row at most once.

    The row is claimed with a conditional UPDATE (queued → sending), so two workers, a retry
    and the sweep can never both send it. Connection and SMTP errors put it back in the
    queue with a delay, up to MAX_ATTEMPTS; then it is marked failed with the reason.
    """
    now = timezone.now()
    claimed = OutboundEmail.objects.filter(
        pk=outbound_email_id, status=OutboundEmail.Status.QUEUED
    ).update(status=OutboundEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Delivery(status="skipped")
    row = OutboundEmail.objects.get(pk=outbound_email_id)
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        headers={"X-Portal-Outbox-Id": str(row.pk)},
        connection=get_connection(fail_silently=False),
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        reason = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= MAX_ATTEMPTS or _is_permanent(error):
            OutboundEmail.objects.filter(pk=row.pk).update(
                status=OutboundEmail.Status.FAILED, last_error=reason
            )
            logger.warning(
                "outbox %s failed for good after %s tries: %s", row.pk, row.attempts, reason
            )
            return Delivery(status=OutboundEmail.Status.FAILED)
        delay = RETRY_DELAYS[row.attempts - 1]
        OutboundEmail.objects.filter(pk=row.pk).update(
            status=OutboundEmail.Status.QUEUED,
            last_error=reason,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
        )
        return Delivery(status=OutboundEmail.Status.QUEUED, retry_in=delay)
    except Exception as error:
        # A bug, not a network problem: never leave the row claimed, never send it again.
        OutboundEmail.objects.filter(pk=row.pk).update(
            status=OutboundEmail.Status.FAILED, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    sent = {"status": OutboundEmail.Status.SENT, "sent_at": timezone.now(), "last_error": ""}
    if row.carries_secret:
        sent.update(body_text=CLEARED_BODY, body_html="", body_cleared_at=timezone.now())
    OutboundEmail.objects.filter(pk=row.pk).update(**sent)
    return Delivery(status=OutboundEmail.Status.SENT)


def sweep_outbox(now=None) -> dict[str, int]:
    """Catch what the broker never delivered: queue overdue rows again, and give up on rows
    claimed long ago by a worker that died (their fate is unknown, so they are not resent
    automatically: helpdesk can resend after checking)."""
    now = now or timezone.now()
    stuck = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.SENDING, claimed_at__lt=now - STUCK_AFTER
    ).update(
        status=OutboundEmail.Status.FAILED,
        last_error=_("寄送中斷（工作程序停止），無法確認是否寄出；請確認後重寄。"),
    )
    overdue = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.QUEUED, next_attempt_at__lt=now - SWEEP_GRACE
        ).values_list("pk", flat=True)[:500]
    )
    for pk in overdue:
        emails.dispatch(pk)
    return {"requeued": len(overdue), "given_up": stuck}


def resend_outbound_email(*, outbound_email: OutboundEmail, actor, request=None) -> OutboundEmail:
    """Helpdesk resend. A failed row is queued again as it is; a sent row is copied, unless
    its body held a secret and was cleared (then a new link must be issued instead)."""
    if outbound_email.body_cleared_at is not None:
        raise ValidationError(
            _("這封信含設定密碼連結，內容已清除，無法重寄；請改為重新寄送設定密碼連結。")
        )
    if outbound_email.status in (OutboundEmail.Status.QUEUED, OutboundEmail.Status.SENDING):
        raise ValidationError(_("這封信還在寄送中。"))
    with transaction.atomic():
        if outbound_email.status == OutboundEmail.Status.FAILED:
            row = outbound_email
            row.status = OutboundEmail.Status.QUEUED
            row.attempts = 0
            row.next_attempt_at = timezone.now()
            row.save(update_fields=["status", "attempts", "next_attempt_at"])
        else:
            row = OutboundEmail.objects.create(
                kind=outbound_email.kind,
                account=outbound_email.account,
                to_address=outbound_email.to_address,
                subject=outbound_email.subject,
                body_text=outbound_email.body_text,
                body_html=outbound_email.body_html,
                carries_secret=outbound_email.carries_secret,
            )
        record_security_event(
            kind=Kind.MAIL_RESENT,
            account=outbound_email.account,
            actor=actor,
            request=request,
            detail={"outbound_email": row.pk, "kind": row.kind},
        )
        transaction.on_commit(lambda: emails.dispatch(row.pk))
    return row

"""Sub-account requests (申請子帳號, issue 18; seed 000's process put online): a teacher asks on
/apply/sub-account/, the unit's main-account holder approves, edits or rejects it on
/manage/requests/.

The public form answers the same whether or not the unit exists or has a holder: it hands
what was typed to a Celery task, match or miss (accounts/services/public_requests.py
hand_off), and only the task looks the unit up and, for a unit with a holder, stores the
request and mails the holder."""

from dataclasses import asdict
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.normalize import normalize_login_name
from accounts.profile import Profile
from accounts.security_log import record_security_event, request_origin
from accounts.services.public_requests import PendingKind, hand_off
from mail import messages
from schools.models import SUB_ACCOUNT_REQUEST_DAYS, SubAccountRequest, Unit
from schools.services.sub_accounts import create_sub_account
from schools.services.units import find_unit
from stations.models import Station

Kind = SecurityEvent.Kind
Status = SubAccountRequest.Status


def request_sub_account(
    *, code: str, local_part: str, profile: Profile, stations: list[str], request=None
) -> None:
    """The form's side: hand what was typed to the task (submit_sub_account_request), the
    same work for a unit that exists and has a holder as for one that does not."""
    hand_off(
        PendingKind.SUB_ACCOUNT_REQUEST,
        code=code,
        local_part=local_part,
        stations=list(stations),
        origin=request_origin(request),
        **asdict(profile),
    )


def _holder_of(unit: Unit) -> Account | None:
    """Who decides the unit's requests: its main account, unless it is disabled."""
    return (
        Account.objects.filter(unit=unit, role=Account.Role.MAIN)
        .exclude(state=Account.State.DISABLED)
        .first()
    )


def submit_sub_account_request(
    *,
    code: str,
    local_part: str,
    full_name: str,
    office: str,
    title: str,
    phone: str,
    email: str,
    stations: list[str],
    origin: dict | None = None,
) -> SubAccountRequest | None:
    """The task's side: for a unit that has a holder, store the request (or merge it into
    the pending one from the same e-mail) and tell the holder of a new one. Stations the
    unit may not use are dropped."""
    unit = find_unit(code)
    if unit is None or _holder_of(unit) is None:
        return None
    usable = set(Station.objects.usable_by(unit).values_list("slug", flat=True))
    details = {
        "local_part": normalize_login_name(local_part),
        "full_name": full_name.strip(),
        "office": office.strip(),
        "title": title.strip(),
        "phone": phone.strip(),
        "email": email.strip(),
    }
    wanted = [slug for slug in dict.fromkeys(stations) if slug in usable]
    now = timezone.now()
    with transaction.atomic():
        Unit.objects.select_for_update().get(pk=unit.pk)  # one request of a unit at a time
        pending = (
            SubAccountRequest.objects.annotate(email_lower=Lower("email"))
            .filter(unit=unit, status=Status.PENDING, email_lower=details["email"].lower())
            .first()
        )
        if pending is not None and pending.expires_at <= now:
            pending.status = Status.EXPIRED
            pending.save(update_fields=["status"])
            pending = None
        if pending is not None:
            return _merge(pending, details, wanted, now, origin)
        sub_request = SubAccountRequest.objects.create(unit=unit, stations=wanted, **details)
        record_security_event(
            kind=Kind.SUB_ACCOUNT_REQUESTED,
            username=sub_request.username,
            origin=origin,
            detail={"request": sub_request.pk},
        )
        messages.sub_account_requested(sub_request=sub_request, holder=_holder_of(unit))
    return sub_request


def _merge(pending, details, wanted, now, origin) -> SubAccountRequest:
    """The same person asked again: the newest details, the stations of both, 30 more days.
    The holder was told of the first one; no second mail."""
    for name, value in details.items():
        setattr(pending, name, value)
    pending.stations = list(dict.fromkeys([*pending.stations, *wanted]))
    pending.updated_at = now
    pending.expires_at = now + timedelta(days=SUB_ACCOUNT_REQUEST_DAYS)
    pending.submissions += 1
    pending.save()
    record_security_event(
        kind=Kind.SUB_ACCOUNT_REQUESTED,
        username=pending.username,
        origin=origin,
        detail={"request": pending.pk, "merged": True},
    )
    return pending


def open_requests(unit: Unit):
    """The unit's requests waiting for its holder: pending and not expired, oldest first."""
    return (
        SubAccountRequest.objects.filter(
            unit=unit, status=Status.PENDING, expires_at__gt=timezone.now()
        )
        .select_related("unit")
        .order_by("created_at", "id")
    )


def _lock_open(sub_request: SubAccountRequest) -> SubAccountRequest:
    """The request's row, locked; refused unless it still waits for a decision (two browser
    tabs, or the holder and a successor, may decide it at once)."""
    locked = (
        SubAccountRequest.objects.select_for_update().select_related("unit").get(pk=sub_request.pk)
    )
    if locked.status == Status.PENDING and locked.expires_at <= timezone.now():
        raise ValidationError(_("這份申請已超過 30 天未審核，已逾期；請申請人重新申請。"))
    if locked.status != Status.PENDING:
        raise ValidationError(
            _("這份申請已經%(status)s，不能再審核。") % {"status": locked.get_status_display()}
        )
    return locked


def approve_sub_account_request(
    *,
    sub_request: SubAccountRequest,
    local_part: str,
    profile: Profile,
    stations,
    actor: Account,
    request=None,
) -> Account:
    """Create the sub-account from the request as the holder left it (edited or not): the
    local part is checked again, the stations granted, the account-created mail sent.
    Raises ValidationError (field → messages) and leaves the request pending when the
    account cannot be created."""
    with transaction.atomic():
        sub_request = _lock_open(sub_request)
        account = create_sub_account(
            unit=sub_request.unit,
            local_part=local_part,
            profile=profile,
            stations=stations,
            actor=actor,
            request=request,
        )
        sub_request.local_part = account.local_part
        for name, value in asdict(profile).items():
            setattr(sub_request, name, value.strip())
        sub_request.stations = [station.slug for station in stations]
        sub_request.status = Status.APPROVED
        sub_request.decided_at = timezone.now()
        sub_request.decided_by = actor
        sub_request.account = account
        sub_request.save()
        record_security_event(
            kind=Kind.SUB_ACCOUNT_REQUEST_APPROVED,
            account=account,
            actor=actor,
            request=request,
            detail={"request": sub_request.pk},
        )
    return account


def reject_sub_account_request(
    *, sub_request: SubAccountRequest, reason: str, actor: Account, request=None
) -> SubAccountRequest:
    """Refuse the request; the requester reads the reason in a mail."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("請填寫退回原因，申請人會在通知信中看到。")]})
    with transaction.atomic():
        sub_request = _lock_open(sub_request)
        sub_request.status = Status.REJECTED
        sub_request.decided_at = timezone.now()
        sub_request.decided_by = actor
        sub_request.rejection_reason = reason
        sub_request.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason"])
        record_security_event(
            kind=Kind.SUB_ACCOUNT_REQUEST_REJECTED,
            username=sub_request.username,
            actor=actor,
            request=request,
            detail={"request": sub_request.pk, "reason": reason},
        )
        messages.sub_account_request_rejected(sub_request=sub_request, holder=actor)
    return sub_request


def expire_sub_account_requests(now=None) -> int:
    """Requests nobody decided within 30 days become expired (Celery beat, hourly)."""
    now = now or timezone.now()
    return SubAccountRequest.objects.filter(status=Status.PENDING, expires_at__lte=now).update(
        status=Status.EXPIRED
    )

"""The holder's consent overview and reminders (SPEC section 6, /manage/stations/): each
person's state in words, and 催報 to those who can act on it: active accounts that have not
consented, at most once a day per person and station, never the holder themself. Pending
accounts cannot sign in yet, so they are not reminded; the page says so and how many."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from mail import messages
from schools.models import ConsentReminder, Unit
from stations.models import Consent, Station, StationGrant

Kind = SecurityEvent.Kind

# At most one reminder per person and station within this time.
REMINDER_INTERVAL = timedelta(hours=24)


class State:
    """A person's state at a station, as the overview says it."""

    CONSENTED = "consented"  # 已同意
    WAITING = "waiting"  # 尚未同意: can be reminded
    REMINDED = "reminded"  # 尚未同意, reminded within the last day: not again yet
    PENDING = "pending"  # 待開通: no password yet, cannot sign in, not reminded
    DISABLED = "disabled"  # 已停用
    HOLDER = "holder"  # 尚未同意, the holder themself: never reminded


@dataclass(frozen=True)
class OverviewRow:
    account: Account
    consent: Consent | None
    state: str
    last_reminded: datetime | None
    next_reminder: datetime | None  # when a reminder may go again (State.REMINDED)


@dataclass(frozen=True)
class StationOverview:
    station: Station
    rows: list[OverviewRow]

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def can_remind(self) -> int:
        return self.count(State.WAITING)

    @property
    def pending(self) -> int:
        return self.count(State.PENDING)

    @property
    def reminded(self) -> int:
        return self.count(State.REMINDED)


def _state(account, holder, consent, last_reminded, now) -> str:
    if consent is not None:
        return State.CONSENTED
    if account.state == Account.State.PENDING:
        return State.PENDING
    if account.state == Account.State.DISABLED:
        return State.DISABLED
    if account.pk == holder.pk:
        return State.HOLDER
    if last_reminded is not None and now - last_reminded < REMINDER_INTERVAL:
        return State.REMINDED
    return State.WAITING


def consent_overview(holder: Account) -> list[StationOverview]:
    """Per station granted in the holder's unit: its people, their state and when each was
    last reminded, in three queries however many people there are."""
    unit_id, now = holder.unit_id, timezone.now()
    grants = (
        StationGrant.objects.filter(account__unit_id=unit_id, station__is_active=True)
        .select_related("station", "account")
        .order_by("station__order", "station__name", "account__username")
    )
    consents = {}
    for consent in Consent.objects.filter(account__unit_id=unit_id, revoked_at=None).order_by(
        "given_at"
    ):
        consents[(consent.account_id, consent.station_id)] = consent  # the newest wins
    reminded = {
        (row["account_id"], row["station_id"]): row["last"]
        for row in ConsentReminder.objects.filter(account__unit_id=unit_id)
        .values("account_id", "station_id")
        .annotate(last=Max("sent_at"))
    }
    overview: dict[int, StationOverview] = {}
    for grant in grants:
        station = grant.station
        entry = overview.setdefault(station.pk, StationOverview(station, []))
        consent = consents.get((grant.account_id, station.pk))
        consent = consent if consent and consent.covers(station) else None
        last = reminded.get((grant.account_id, station.pk))
        state = _state(grant.account, holder, consent, last, now)
        next_reminder = last + REMINDER_INTERVAL if state == State.REMINDED else None
        entry.rows.append(OverviewRow(grant.account, consent, state, last, next_reminder))
    return list(overview.values())


@dataclass(frozen=True)
class RemindersSent:
    sent: int
    reminded_lately: int  # skipped: reminded within the last day
    pending: int  # skipped: no password yet


def send_consent_reminders(*, holder: Account, station: Station, request=None) -> RemindersSent:
    """催報: mail the unit's people who can consent to this station and have not, except
    those reminded within the last day and the holder. The unit's row is locked, so two
    clicks at once send one round."""
    with transaction.atomic():
        Unit.objects.select_for_update().filter(pk=holder.unit_id).first()
        rows = next(
            (entry.rows for entry in consent_overview(holder) if entry.station.pk == station.pk),
            [],
        )
        waiting = [row.account for row in rows if row.state == State.WAITING]
        now = timezone.now()
        ConsentReminder.objects.bulk_create(
            ConsentReminder(account=account, station=station, sent_by=holder, sent_at=now)
            for account in waiting
        )
        for account in waiting:
            messages.station_reminder(account=account, station=station, holder=holder)
        outcome = RemindersSent(
            sent=len(waiting),
            reminded_lately=sum(1 for row in rows if row.state == State.REMINDED),
            pending=sum(1 for row in rows if row.state == State.PENDING),
        )
        record_security_event(
            kind=Kind.STATION_REMINDER_SENT,
            account=holder,
            actor=holder,
            request=request,
            detail={
                "station": station.slug,
                "recipients": [account.username for account in waiting],
                "skipped_reminded_lately": outcome.reminded_lately,
                "skipped_pending": outcome.pending,
            },
        )
    return outcome

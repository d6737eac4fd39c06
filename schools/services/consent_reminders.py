"""The holder's consent overview and reminders (SPEC section 6, /manage/stations/): who is
granted each station, who has consented and when, and 催報 to those who have not."""

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from mail import messages
from stations.models import Consent, Station, StationGrant

Kind = SecurityEvent.Kind


def send_consent_reminders(*, holder: Account, station: Station, request=None) -> int:
    """催報: mail the holder's granted accounts that have not consented to this station."""
    consented = {
        consent.account_id
        for consent in Consent.objects.filter(
            station=station, account__unit=holder.unit, revoked_at=None
        )
        if consent.covers(station)
    }
    waiting = [
        account
        for account in Account.objects.filter(
            unit=holder.unit, station_grants__station=station, state=Account.State.ACTIVE
        ).order_by("username")
        if account.pk not in consented
    ]
    with transaction.atomic():
        for account in waiting:
            messages.station_reminder(account=account, station=station, holder=holder)
        record_security_event(
            kind=Kind.STATION_REMINDER_SENT,
            account=holder,
            actor=holder,
            request=request,
            detail={"station": station.slug, "recipients": [a.username for a in waiting]},
        )
    return len(waiting)


@dataclass(frozen=True)
class OverviewRow:
    account: Account
    consent: Consent | None


def consent_overview(unit) -> list[tuple[Station, list[OverviewRow]]]:
    """Per station granted in the unit: its accounts and their consent, in three queries."""
    grants = (
        StationGrant.objects.filter(account__unit=unit, station__is_active=True)
        .select_related("station", "account")
        .order_by("station__order", "station__name", "account__username")
    )
    consents = {}
    for consent in Consent.objects.filter(account__unit=unit, revoked_at=None).order_by("given_at"):
        consents[(consent.account_id, consent.station_id)] = consent  # the newest wins
    overview: dict[int, tuple[Station, list[OverviewRow]]] = {}
    for grant in grants:
        station, rows = overview.setdefault(grant.station_id, (grant.station, []))
        consent = consents.get((grant.account_id, grant.station_id))
        rows.append(
            OverviewRow(grant.account, consent if consent and consent.covers(station) else None)
        )
    return list(overview.values())

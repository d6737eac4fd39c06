"""Grants and consents: every change of a station's reach over an account."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from accounts.models import Account, SecurityEvent
from accounts.security_log import record_security_event
from stations.models import Consent, Station, StationGrant, ordered_fields

Kind = SecurityEvent.Kind


def grant_station(*, account: Account, station: Station, actor, request=None) -> StationGrant:
    with transaction.atomic():
        grant, created = StationGrant.objects.get_or_create(
            account=account, station=station, defaults={"granted_by": actor}
        )
        if created:
            record_security_event(
                kind=Kind.STATION_GRANTED,
                account=account,
                actor=actor,
                request=request,
                detail={"station": station.slug},
            )
    return grant


def revoke_station(*, account: Account, station: Station, actor, request=None) -> bool:
    """Take the station away; its tokens for the account stop working at once."""
    with transaction.atomic():
        deleted, _ = StationGrant.objects.filter(account=account, station=station).delete()
        if deleted:
            end_station_tokens(account=account, station=station)
            record_security_event(
                kind=Kind.STATION_REVOKED,
                account=account,
                actor=actor,
                request=request,
                detail={"station": station.slug},
            )
    return bool(deleted)


def delete_station(*, station: Station, actor, request=None) -> None:
    """A superuser removes a station for good: every grant is revoked as one by one would be
    (its security event, the account's tokens at the station ended), then the station and its
    OpenID Connect client go. (Withdrawing a station for a while is making it inactive.)"""
    with transaction.atomic():
        for grant in StationGrant.objects.filter(station=station).select_related("account"):
            revoke_station(account=grant.account, station=station, actor=actor, request=request)
        Station.objects.filter(pk=station.pk).delete()


def is_granted(account: Account, station: Station) -> bool:
    side = account.unit.side if account.unit_id else None
    if side is not None and side not in station.sides:
        return False
    return StationGrant.objects.filter(account=account, station=station).exists()


def current_consent(account: Account, station: Station) -> Consent | None:
    """The newest consent, if it is not revoked and covers exactly today's field list."""
    consent = Consent.objects.filter(account=account, station=station).first()
    return consent if consent is not None and consent.covers(station) else None


@dataclass(frozen=True)
class Entry:
    """What entering a station means for an account right now."""

    granted: bool
    consented: bool


def entry_for(account: Account, station: Station) -> Entry:
    granted = station.is_active and is_granted(account, station)
    return Entry(
        granted=granted, consented=granted and current_consent(account, station) is not None
    )


def give_consent(*, account: Account, station: Station, request=None) -> Consent:
    with transaction.atomic():
        consent = Consent.objects.create(
            account=account, station=station, fields=station.field_list
        )
        record_security_event(
            kind=Kind.CONSENT_GIVEN,
            account=account,
            actor=account,
            request=request,
            detail={"station": station.slug, "fields": consent.fields},
        )
    return consent


def deny_consent(*, account: Account, station: Station, request=None) -> None:
    record_security_event(
        kind=Kind.CONSENT_DENIED,
        account=account,
        actor=account,
        request=request,
        detail={"station": station.slug, "fields": station.field_list},
    )


def revoke_consent(*, account: Account, station: Station, request=None) -> bool:
    """Withdraw consent: the station must ask again, and its tokens stop working."""
    with transaction.atomic():
        revoked = Consent.objects.filter(account=account, station=station, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if revoked:
            end_station_tokens(account=account, station=station)
            record_security_event(
                kind=Kind.CONSENT_REVOKED,
                account=account,
                actor=account,
                request=request,
                detail={"station": station.slug},
            )
    return bool(revoked)


def end_station_tokens(*, account: Account, station: Station) -> None:
    """Codes not yet exchanged, access and refresh tokens of the account at this station."""
    if station.client_id is None:
        return
    for model in (get_grant_model(), get_refresh_token_model(), get_access_token_model()):
        model.objects.filter(user=account, application_id=station.client_id).delete()


def consent_fields_for(account: Account, station: Station) -> list[str]:
    consent = current_consent(account, station)
    return ordered_fields(consent.fields) if consent else []

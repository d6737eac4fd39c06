"""When a portal session ends, the stations signed in through it end too (single logout).

accounts announces every ending it sees (sign-out, a timeout noticed at a request, a password
change or reset, a two-factor change, a disabled or reset account, a session ended from the
session list) with the ``session_ended`` signal, once, after its commit; stations/apps.py
connects ``on_session_ended`` to it. For the session's sid this revokes the tokens issued in
it (codes not yet exchanged, access and refresh tokens), and queues one logout token for each
station that received tokens in it and registered a back-channel logout URI. The tokens go by
Celery after this commit (stations/backchannel.py): never in the request that ended the
session, and later when a station is down.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from stations import backchannel
from stations.models import BackchannelLogout, StationSignOn

logger = logging.getLogger(__name__)

# Logout records stay this long for helpdesk (the account page shows the latest).
LOGOUT_RECORDS_KEPT = timedelta(days=90)


def on_session_ended(sender, *, account, sid, reason, **kwargs) -> None:
    """The ``session_ended`` receiver. It runs after the ending has committed, inside the
    request or task that ended the session: a fault here is logged and never undoes or
    fails the sign-out."""
    try:
        end_sign_ons(account=account, sid=sid, reason=reason)
    except Exception:
        logger.exception("stations could not be told that session %s… ended", sid[:6])


def end_sign_ons(*, account, sid: str, reason: str) -> list[BackchannelLogout]:
    """Revoke what was issued to stations in the session ``sid`` and queue their logout
    tokens; the queued rows (one per station with a back-channel logout URI)."""
    if not sid:
        return []
    with transaction.atomic():
        sign_ons = list(
            StationSignOn.objects.filter(account=account, sid=sid).select_related("station")
        )
        for family in {sign_on.token_family for sign_on in sign_ons if sign_on.token_family}:
            get_refresh_token_model().revoke_family(family)
        codes = [sign_on.grant_id for sign_on in sign_ons if sign_on.grant_id]
        StationSignOn.grant.field.related_model.objects.filter(pk__in=codes).delete()
        stations = {
            sign_on.station_id: sign_on.station
            for sign_on in sign_ons
            if sign_on.exchanged_at and sign_on.station.backchannel_logout_uri
        }
        logouts = [
            BackchannelLogout.objects.create(
                account=account, station=station, sid=sid, reason=reason
            )
            for station in stations.values()
        ]
        transaction.on_commit(lambda: [backchannel.dispatch(row.pk) for row in logouts])
    return logouts


def clear_old_records(now=None) -> dict[str, int]:
    """Delete sign-on records no token or session can still need (older than the longest
    of a session's and a refresh token's lifetime, with a day to spare) and logout records
    older than LOGOUT_RECORDS_KEPT. Beat runs it hourly."""
    now = now or timezone.now()
    lifetime = max(
        timedelta(hours=settings.SESSION_ABSOLUTE_HOURS),
        timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS or 0),
    )
    sign_ons = StationSignOn.objects.filter(created_at__lt=now - lifetime - timedelta(days=1))
    logouts = BackchannelLogout.objects.filter(
        created_at__lt=now - LOGOUT_RECORDS_KEPT,
        status__in=[BackchannelLogout.Status.SENT, BackchannelLogout.Status.FAILED],
    )
    return {"sign_ons": sign_ons.delete()[0], "logouts": logouts.delete()[0]}

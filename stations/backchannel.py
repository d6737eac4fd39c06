"""Delivering back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0), as the
outbox delivers mail: each BackchannelLogout row is handed to Celery after its transaction
commits (``dispatch``), claimed with a conditional UPDATE so two workers, a retry and the
sweep never send it at once, retried with backoff while the station is down or answers 5xx,
and swept when the broker never delivered it or its worker was lost (``sweep_station_logouts``).
Which rows exist is decided by stations/single_logout.py; this module only delivers them.

The token: a JWT signed RS256 with the ID tokens' key (its ``kid`` is in the JWKS), typed
``logout+jwt``, with ``iss``, ``aud`` (the station's client_id), ``iat``, ``exp`` (two
minutes), ``jti`` (the row's, the same on every try, so a station can tell a repeat),
``events`` and both ``sid`` and ``sub``. It goes by POST, form-encoded, as ``logout_token``;
a 2xx is success. Redirects are not followed. A 4xx other than 408 and 429 is the station's
refusal of the token and is not retried; helpdesk sees the reason on the account's page.
"""

import http.client
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem

from portal import queue
from stations.models import BackchannelLogout

logger = logging.getLogger(__name__)

SEND_TASK = "stations.tasks.send_backchannel_logout"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120  # seconds
SWEEP_GRACE = timedelta(minutes=2)
CLAIM_TOLERANCE = timedelta(seconds=5)
Status = BackchannelLogout.Status


@dataclass(frozen=True)
class Delivery:
    status: str
    retry_in: int | None = None


def dispatch(logout_id: int) -> None:
    """Hand a row to Celery; with the broker down the row waits for the sweep."""
    refused = queue.publish(SEND_TASK, args=(logout_id,))
    if refused:
        logger.warning(
            "broker unavailable; station logout %s waits for the sweep (%s)", logout_id, refused
        )


def retry_delays() -> tuple[int, ...]:
    return tuple(settings.BACKCHANNEL_LOGOUT_RETRY_DELAYS)


def logout_token(row: BackchannelLogout) -> str:
    key = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
    now = int(time.time())
    claims = {
        "iss": oauth2_settings.OIDC_ISS_ENDPOINT,
        "aud": row.station.client.client_id,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": str(row.jti),
        "events": {EVENT: {}},
        "sid": row.sid,
        "sub": str(row.account_id),
    }
    header = {"alg": "RS256", "typ": "logout+jwt", "kid": key.thumbprint()}
    token = jwt.JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx comes back as an HTTPError


def post_logout_token(uri: str, token: str) -> int:
    """POST the token; the station's HTTP status. Each wait (connecting, each read) is
    bounded by BACKCHANNEL_LOGOUT_TIMEOUT; the task's time limit bounds the whole."""
    request = urllib.request.Request(  # noqa: S310 (an https address an administrator set)
        uri,
        data=urlencode({"logout_token": token}).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "portal-backchannel-logout",
        },
        method="POST",
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.BACKCHANNEL_LOGOUT_TIMEOUT) as response:
            response.read(4096)
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def deliver_backchannel_logout(*, logout_id: int) -> Delivery:
    """Send one row's logout token once; retried later on a network error or a 5xx."""
    now = timezone.now()
    claimed = BackchannelLogout.objects.filter(
        pk=logout_id, status=Status.QUEUED, next_attempt_at__lte=now + CLAIM_TOLERANCE
    ).update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Delivery(status="skipped")
    row = BackchannelLogout.objects.select_related("station__client").get(pk=logout_id)
    uri = row.station.backchannel_logout_uri
    if not uri or row.station.client_id is None:
        return _finish(row, Status.FAILED, "The station has no back-channel logout URI any more.")
    try:
        status = post_logout_token(uri, logout_token(row))
    except DatabaseError:
        raise  # the row stays "sending"; the sweep sends it again after the lease
    except (
        urllib.error.URLError,
        OSError,
        http.client.HTTPException,
        SoftTimeLimitExceeded,
    ) as error:
        return _retry_or_fail(row, f"{type(error).__name__}: {error}"[:2000])
    if 200 <= status < 300:
        return _finish(row, Status.SENT, "", sent_at=timezone.now())
    reason = f"HTTP {status} from {uri}"
    if _retryable(status):
        return _retry_or_fail(row, reason)
    return _finish(row, Status.FAILED, f"{reason}: the station refused the logout token.")


def _close(row: BackchannelLogout, **fields) -> bool:
    """Record an outcome only while this worker's claim stands."""
    return bool(
        BackchannelLogout.objects.filter(
            pk=row.pk, status=Status.SENDING, claimed_at=row.claimed_at
        ).update(**fields)
    )


def _finish(row, status, last_error, **fields) -> Delivery:
    if not _close(row, status=status, last_error=last_error, **fields):
        return Delivery(status="claim_lost")
    if status == Status.FAILED:
        logger.warning(
            "station logout %s failed after %s tries: %s", row.pk, row.attempts, last_error
        )
    return Delivery(status=status)


def _retry_or_fail(row, reason: str) -> Delivery:
    if row.attempts > len(retry_delays()):
        return _finish(row, Status.FAILED, reason)
    delay = retry_delays()[row.attempts - 1]
    if not _close(
        row,
        status=Status.QUEUED,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=reason,
    ):
        return Delivery(status="claim_lost")
    return Delivery(status=Status.QUEUED, retry_in=delay)


def sweep_station_logouts(now=None) -> dict[str, int]:
    """Send what is due and was never delivered (broker down, a retry of eager mode), and
    what lost its worker (still "sending" after the lease: whether the station got it is
    unknown, and a logout token twice does no harm), oldest first, each at most once per
    grace period. Beat runs it every minute."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.BACKCHANNEL_LOGOUT_SENDING_LEASE)
    lost = list(
        BackchannelLogout.objects.filter(
            status=Status.SENDING, claimed_at__lt=now - lease
        ).values_list("pk", flat=True)[:500]
    )
    overdue = list(
        BackchannelLogout.objects.filter(
            status=Status.QUEUED, next_attempt_at__lt=now - SWEEP_GRACE
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    # Due now, and not picked again by the next sweep until another grace period passes.
    BackchannelLogout.objects.filter(pk__in=lost, status=Status.SENDING).update(
        status=Status.QUEUED, next_attempt_at=now, last_error="Its worker was lost; sent again."
    )
    BackchannelLogout.objects.filter(pk__in=overdue, status=Status.QUEUED).update(
        next_attempt_at=now
    )
    for pk in lost + overdue:
        dispatch(pk)
    return {"requeued": len(overdue), "resent": len(lost)}

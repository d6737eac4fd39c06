"""The portal as the stations' OpenID Connect provider (django-oauth-toolkit).

Claims come from the account's consent for the station that asks, not from scopes: a
station receives exactly the fields the account agreed to, and nothing else. A disabled
account's tokens, and tokens whose grant or consent was withdrawn, stop working.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import threading
from contextvars import ContextVar
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView, UserInfoView
from redis.exceptions import RedisError

from portal.net import client_ip
from stations import services
from stations.models import ProfileField, Station

logger = logging.getLogger(__name__)


def claims_for(account, fields: list[str]) -> dict:
    claims = {}
    if ProfileField.USERNAME in fields:
        claims["preferred_username"] = account.username
    if ProfileField.UNIT in fields and account.unit_id:
        claims["unit_code"] = account.unit.code
        claims["unit_name"] = account.unit.name
    if ProfileField.FULL_NAME in fields:
        claims["name"] = account.full_name
    if ProfileField.OFFICE in fields:
        claims["office"] = account.office
    if ProfileField.TITLE in fields:
        claims["title"] = account.title
    if ProfileField.PHONE in fields:
        claims["phone_number"] = account.phone
    if ProfileField.EMAIL in fields:
        claims["email"] = account.email
    return claims


def station_of(application) -> Station | None:
    return Station.objects.filter(client=application).first() if application is not None else None


class StationValidator(OAuth2Validator):
    oidc_claim_scope = None  # consent, not scopes, decides what a station receives

    def get_additional_claims(self, request):
        station = station_of(request.client)
        if station is None or not self._still_allowed(request.user, request.client):
            return {}
        return claims_for(request.user, services.consent_fields_for(request.user, station))

    # Every way a station turns something into tokens or claims re-checks that the account
    # is active and still has the grant and a current consent: a code, an access token or
    # a refresh token issued before a withdrawal is worth nothing after it.
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        return valid and self._still_allowed(request.user, client)

    def _check_secret(self, provided_secret, stored_secret):
        return check_client_secret(provided_secret, stored_secret, super()._check_secret)

    def validate_bearer_token(self, token, scopes, request):
        # An access token counts only when it came in the Authorization header: oauthlib
        # would otherwise take one from the query string or the form body (RFC 6750 §2.2,
        # §2.3), where it ends up in access logs, proxies and browser history.
        if not token or _bearer_in_header(request.headers) != token:
            return False
        valid = super().validate_bearer_token(token, scopes, request)
        return valid and self._still_allowed(request.user, request.client)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and self._still_allowed(request.user, client)

    # prompt=none reaches oauthlib only for a signed-in account whose grant and consent the
    # authorize view has just checked (it answers consent_required itself otherwise).
    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True

    @staticmethod
    def _still_allowed(account, application) -> bool:
        """Only stations are clients: a client without its station is refused."""
        if account is None or not account.is_active:
            return False
        station = station_of(application)
        return station is not None and services.entry_for(account, station).consented


class StationAuthorizationView(AuthorizationView):
    """/o/authorize/: after DOT has checked the client and its redirect URI, refuse an
    account without the grant and send one without consent to the portal's consent page.

    GET only: DOT's own approval form (POST) is never used, since the portal's consent page
    asks instead; accepting it would let a form post skip the grant and consent checks.
    """

    http_method_names = ["get", "head", "options"]

    def get(self, request, *args, **kwargs):
        try:
            _scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        station = Station.objects.filter(client__client_id=credentials["client_id"]).first()
        if station is None:
            raise PermissionDenied  # a client that is no station's
        entry = services.entry_for(request.user, station)
        if not entry.granted:
            return render(request, "stations/no_grant.html", {"station": station}, status=403)
        if not entry.consented:
            if "none" in request.GET.get("prompt", "").split():
                return _error_to_station(credentials, "consent_required")
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('stations:enter', args=[station.slug])}?{query}")
        return super().get(request, *args, **kwargs)


def _error_to_station(credentials, error: str):
    """An OpenID Connect error sent back to the (already validated) redirect URI."""
    from django.http import HttpResponseRedirect
    from oauth2_provider.settings import oauth2_settings

    params = {"error": error, "iss": oauth2_settings.OIDC_ISS_ENDPOINT}
    if credentials.get("state"):
        params["state"] = credentials["state"]
    separator = "&" if "?" in credentials["redirect_uri"] else "?"
    return HttpResponseRedirect(f"{credentials['redirect_uri']}{separator}{urlencode(params)}")


def _bearer_in_header(headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    parts = (headers.get("Authorization") or headers.get("HTTP_AUTHORIZATION") or "").split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None


@method_decorator(csrf_exempt, name="dispatch")  # as DOT's: stations post without a cookie
class StationUserInfoView(UserInfoView):
    """/o/userinfo/: the access token in the Authorization header only.

    DOT's ``COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT`` guards only ``verify_request``;
    userinfo goes through oauthlib, which also reads ``access_token`` from the query string
    and the form body. A request that carries one there is refused before any token is
    looked up, even with a header beside it (RFC 6750 §2: one method per request): 401,
    ``WWW-Authenticate: Bearer`` without an error code (RFC 6750 §3.1, a request made with
    an unsupported method is one without authentication), and a JSON body saying why.
    """

    def dispatch(self, request, *args, **kwargs):
        if "access_token" in request.GET or "access_token" in request.POST:
            response = JsonResponse(
                {
                    "error": "invalid_request",
                    "error_description": "Send the access token in the Authorization "
                    "header (Bearer), not in the query string or the body.",
                },
                status=401,
            )
            response["WWW-Authenticate"] = 'Bearer realm="portal"'
            return response
        return super().dispatch(request, *args, **kwargs)


class TokenEndpointThrottled(Exception):
    """A client secret would have to be checked the slow way, and this address (or this
    client from this address) has used up its share: answer 429 without checking it."""

    def __init__(self, wait: int):
        super().__init__(wait)
        self.wait = wait


# The Django request of the token-endpoint call under way: oauthlib hands the validator its
# own request object, which carries no client address.
_token_request: ContextVar = ContextVar("portal_token_request", default=None)


class _VerifiedSecrets:
    """Client secrets this process has verified with argon2, kept as an HMAC (keyed with
    SECRET_KEY) under the stored hash: a station's later exchanges are checked in
    microseconds, and a new secret (a new stored hash) starts afresh. Process memory only:
    nothing of a secret goes to Redis or the database."""

    LIMIT = 1000

    def __init__(self):
        self._known: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _mac(provided: str) -> bytes:
        key = hashlib.sha256(b"portal:oidc-client-secret:" + settings.SECRET_KEY.encode()).digest()
        return hmac.new(key, provided.encode("utf-8"), hashlib.sha256).digest()

    def matches(self, provided: str, stored: str) -> bool:
        known = self._known.get(stored)
        return known is not None and hmac.compare_digest(known, self._mac(provided))

    def remember(self, provided: str, stored: str) -> None:
        with self._lock:
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            self._known[stored] = self._mac(provided)

    def forget(self) -> None:
        with self._lock:
            self._known.clear()


verified_secrets = _VerifiedSecrets()


def _client_id_of(request) -> str:
    """The client_id a token-endpoint request names: from HTTP Basic (client_secret_basic,
    form-encoded per RFC 6749 §2.3.1) or the body (client_secret_post). Only read, never
    trusted: it picks the counter, nothing else."""
    auth = request.META.get("HTTP_AUTHORIZATION", "").split(None, 1)
    if len(auth) == 2 and auth[0].lower() == "basic":
        try:
            decoded = base64.b64decode(auth[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if ":" in decoded:
            return unquote_plus(decoded.split(":", 1)[0])[:200]
    return str(request.POST.get("client_id", ""))[:200]


def _count_slow_check(request) -> None:
    """Count one slow (argon2) check of a client secret against the limits, per address and
    per client from that address (OIDC_TOKEN_RATE_PER_ADDRESS, OIDC_TOKEN_RATE_PER_CLIENT);
    raise TokenEndpointThrottled over either.

    Only slow checks count: an honest station is checked the slow way once per process and
    then never again, so however busy it is its exchanges and refreshes are never refused,
    while wrong secrets, which are always slow, are. The client's counter is kept per
    address: a client_id is no secret (it travels in every authorization URL), and one
    counter for all addresses would let anyone who floods it stop a station's teachers from
    signing in. With the cache (Redis) unreachable nothing is counted, as for the other
    limits."""
    address = client_ip(request) or "unknown"
    counted = [("address", address, settings.OIDC_TOKEN_RATE_PER_ADDRESS)]
    client_id = _client_id_of(request)
    if client_id:
        counted.append(("client", f"{client_id}|{address}", settings.OIDC_TOKEN_RATE_PER_CLIENT))
    wait = None
    for kind, value, rate in counted:
        try:
            usage = get_usage(
                request,
                group=f"portal:oidc-token:{kind}",
                key=lambda _group, _request, value=value: value,
                rate=rate,
                increment=True,
            )
        except (RedisError, OSError):  # the cache is unreachable: fail open, as elsewhere
            logger.warning("rate-limit cache unavailable; token endpoint not counted")
            continue
        if usage and usage["should_limit"]:
            wait = max(wait or 1, usage["time_left"])
    if wait is not None:
        raise TokenEndpointThrottled(wait)


def check_client_secret(provided: str, stored: str, check) -> bool:
    """The validator's secret check: the fast path for a secret this process has verified,
    else ``check`` (argon2) after counting it; a verified secret is remembered."""
    if verified_secrets.matches(provided, stored):
        return True
    request = _token_request.get()
    if request is not None:
        _count_slow_check(request)
    valid = check(provided, stored)
    if valid:
        verified_secrets.remember(provided, stored)
    return valid


def _slow_down(wait: int):
    """429 with an OAuth error body. ``slow_down`` is the registered token-endpoint error
    for "you are asking too often" (RFC 8628 §3.5, in the OAuth Extensions Error
    Registry); ``invalid_request`` would tell a station its request is malformed, sending
    its developer after a bug that is not there. Retry-After says when to try again."""
    response = JsonResponse(
        {
            "error": "slow_down",
            "error_description": "Too many token requests; retry after the given seconds.",
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    response["Cache-Control"] = "no-store"
    return response


class ThrottledClientAuthMixin:
    """The endpoints that check a client secret: a slow (argon2) check is counted per
    address and per client first, and refused over the limit without checking it."""

    def post(self, request, *args, **kwargs):
        marker = _token_request.set(request)
        try:
            return super().post(request, *args, **kwargs)
        except TokenEndpointThrottled as throttled:
            return _slow_down(throttled.wait)
        finally:
            _token_request.reset(marker)


class StationTokenView(ThrottledClientAuthMixin, TokenView):
    """/o/token/, rate-limited before the client secret is checked."""


class StationRevokeTokenView(ThrottledClientAuthMixin, RevokeTokenView):
    """/o/revoke_token/ checks the client secret too: same limits, same counters."""

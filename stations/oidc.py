"""The portal as the stations' OpenID Connect provider (django-oauth-toolkit): the validator,
and the token, revocation, userinfo and discovery endpoints. The authorization endpoint is
in stations/authorization.py, the end-session endpoint in stations/end_session.py.

Claims come from the account's consent for the station that asks, not from scopes: a
station receives exactly the fields the account agreed to, and nothing else. A disabled
account's tokens, and tokens whose grant or consent was withdrawn, stop working.

Every code is recorded with the portal session it was issued in (StationSignOn): its ID
tokens, refreshed ones too, carry that session's ``sid`` and the time it authenticated
(``auth_time``), and when the session ends its tokens are revoked (stations/single_logout.py).
"""

import base64
import binascii
import hashlib
import hmac
import logging
import re
import threading
from contextvars import ContextVar
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from django_ratelimit.core import get_usage
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import RevokeTokenView, TokenView, UserInfoView
from oauth2_provider.views.metadata import ServerMetadataViewMixin
from oauthlib.oauth2.rfc6749 import errors
from redis.exceptions import RedisError

from portal.net import client_ip
from stations import services
from stations.models import ProfileField, Station, StationSignOn

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


# Every claim a station can receive: the ID token's own, then the consented profile fields
# (claims_for). Discovery lists exactly these.
TOKEN_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "auth_time", "jti", "nonce", "at_hash", "sid"]
PROFILE_CLAIMS = [
    "preferred_username",
    "unit_code",
    "unit_name",
    "name",
    "office",
    "title",
    "phone_number",
    "email",
]

# RFC 7636 4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def checksum(token: str) -> str:
    """How codes and tokens are looked up without being stored (as django-oauth-toolkit's)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def station_of(application) -> Station | None:
    return Station.objects.filter(client=application).first() if application is not None else None


class StationValidator(OAuth2Validator):
    oidc_claim_scope = None  # consent, not scopes, decides what a station receives

    def get_additional_claims(self, request):
        station = station_of(request.client)
        if station is None or not self._still_allowed(request.user, request.client):
            return {}
        return claims_for(request.user, services.consent_fields_for(request.user, station))

    # Redirect URIs (Core 1.0 3.1.2.1, RFC 9700 2.1): required in every authorization
    # request and compared as strings with the registered ones, no port left open for
    # loopback addresses; at the token endpoint a different one is invalid_grant.
    def get_default_redirect_uri(self, client_id, request, *args, **kwargs):
        return None

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return redirect_uri in request.client.redirect_uris.split()

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
        if not super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs):
            raise errors.InvalidGrantError(
                description="redirect_uri differs from the one in the authorization request."
            )
        return True

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        """Only the code flow, as discovery says: anything else is unsupported, not a client
        that lacks the right to it."""
        if response_type != "code":
            raise errors.UnsupportedResponseTypeError(request=request)
        return super().validate_response_type(client_id, response_type, client, request)

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        """The code, and the portal session it was issued in (stations/authorization.py
        hands it over as ``portal_session``)."""
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        session, station = getattr(request, "portal_session", None), station_of(request.client)
        if session and station is not None:
            grant_model = StationSignOn.grant.field.related_model
            StationSignOn.objects.create(
                account=request.user,
                station=station,
                sid=session["sid"],
                authenticated_at=session["authenticated_at"],
                code_checksum=checksum(code["code"]),
                grant=grant_model.objects.filter(code=code["code"]).first(),
            )

    # Every way a station turns something into tokens or claims re-checks that the account
    # is active and still has the grant and a current consent: a code, an access token or
    # a refresh token issued before a withdrawal is worth nothing after it.
    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if request.code_verifier is not None and not CODE_VERIFIER.fullmatch(request.code_verifier):
            raise errors.InvalidGrantError(
                description="code_verifier must be 43 to 128 characters of "
                "A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)."
            )
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs)
        if not valid:
            revoke_if_replayed(code, client)
            return False
        request.station_sign_on = StationSignOn.objects.filter(code_checksum=checksum(code)).first()
        return self._still_allowed(request.user, client)

    def save_bearer_token(self, token, request, *args, **kwargs):
        super().save_bearer_token(token, request, *args, **kwargs)
        sign_on = getattr(request, "station_sign_on", None)
        if request.grant_type == "authorization_code" and sign_on and token.get("refresh_token"):
            family = (
                get_refresh_token_model()
                .objects.filter(token_checksum=checksum(token["refresh_token"]))
                .values_list("token_family", flat=True)
                .first()
            )
            StationSignOn.objects.filter(pk=sign_on.pk).update(
                token_family=family, exchanged_at=timezone.now()
            )

    def get_id_token_dictionary(self, token, token_handler, request):
        """The session's ``sid`` and ``auth_time`` from the sign-on the tokens come from, on
        the first ID token and on every refreshed one (Core 1.0 12.2: the original
        authentication's time, not the refresh's)."""
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        sign_on = getattr(request, "station_sign_on", None)
        if sign_on is not None:
            claims["auth_time"] = int(sign_on.authenticated_at.timestamp())
            claims["sid"] = sign_on.sid
        return claims, expires

    def _check_secret(self, provided_secret, stored_secret):
        return check_client_secret(provided_secret, stored_secret, super()._check_secret)

    def validate_bearer_token(self, token, scopes, request):
        # An access token counts only when it came in the Authorization header: oauthlib
        # would otherwise take one from the query string or the form body (RFC 6750 §2.2,
        # §2.3), where it ends up in access logs, proxies and browser history.
        if not token or _bearer_in_header(request.headers) != token:
            return False
        if super().validate_bearer_token(token, scopes, request):
            return self._still_allowed(request.user, request.client)
        if (getattr(request, "oauth2_error", None) or {}).get("error") == "insufficient_scope":
            # A good token without the scope asked for (userinfo asks for openid): 403
            # insufficient_scope (RFC 6750 3.1), not 401 as for a bad token.
            access_token = self._load_access_token(token)
            if self._still_allowed(access_token.user, access_token.application):
                raise errors.InsufficientScopeError()
        return False

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        if not valid:
            return False
        family = request.refresh_token_instance.token_family
        request.station_sign_on = (
            StationSignOn.objects.filter(token_family=family).first() if family else None
        )
        return self._still_allowed(request.user, client)

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


def revoke_if_replayed(code: str, client) -> None:
    """A code that was already exchanged, presented again by its own station (the client
    has authenticated by now): the tokens issued for it are revoked (RFC 6749 4.1.2), as a
    thief may hold them."""
    sign_on = (
        StationSignOn.objects.filter(code_checksum=checksum(code), station__client=client)
        .exclude(token_family=None)
        .first()
    )
    if sign_on is not None:
        logger.warning("station %s presented a used code again: its tokens are revoked", client)
        get_refresh_token_model().revoke_family(sign_on.token_family)


def _bearer_in_header(headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    parts = (headers.get("Authorization") or headers.get("HTTP_AUTHORIZATION") or "").split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    return None


def _json_error(response):
    """oauthlib's error bodies are JSON; say so (DOT sends them as text/html)."""
    if response.status_code >= 400 and response.content.startswith(b"{"):
        response["Content-Type"] = "application/json"
        response["Cache-Control"] = "no-store"
    return response


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
        response = _json_error(super().dispatch(request, *args, **kwargs))
        if response.status_code == 403:  # RFC 6750 3: the challenge names the error
            response["WWW-Authenticate"] = 'Bearer realm="portal", error="insufficient_scope"'
        return response


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
    address and per client first, and refused over the limit without checking it.

    A failed client authentication is 401 with ``WWW-Authenticate: Basic`` (RFC 6749 5.2:
    the scheme the client used, or may use; oauthlib would name Bearer)."""

    def post(self, request, *args, **kwargs):
        marker = _token_request.set(request)
        try:
            response = super().post(request, *args, **kwargs)
        except TokenEndpointThrottled as throttled:
            return _slow_down(throttled.wait)
        finally:
            _token_request.reset(marker)
        if response.status_code == 401:
            response["WWW-Authenticate"] = 'Basic realm="portal"'
        return _json_error(response)


class StationTokenView(ThrottledClientAuthMixin, TokenView):
    """/o/token/, rate-limited before the client secret is checked."""


class StationRevokeTokenView(ThrottledClientAuthMixin, RevokeTokenView):
    """/o/revoke_token/ checks the client secret too: same limits, same counters."""


class StationDiscoveryView(ServerMetadataViewMixin, View):
    """/o/.well-known/openid-configuration: what the portal does, and nothing it does not
    (OpenID Connect Discovery 1.0; the logout members from RP-Initiated and Back-Channel
    Logout 1.0; ``authorization_response_iss_parameter_supported`` from RFC 9207)."""

    def get(self, request, *args, **kwargs):
        def endpoint(name):
            return self._get_endpoint_url(request, name, required=True)

        client_auth = ["client_secret_basic", "client_secret_post"]
        data = {
            "issuer": oauth2_settings.oidc_issuer(request),
            "authorization_endpoint": endpoint("authorize"),
            "token_endpoint": endpoint("token"),
            "userinfo_endpoint": endpoint("user-info"),
            "jwks_uri": endpoint("jwks-info"),
            "revocation_endpoint": endpoint("revoke-token"),
            "end_session_endpoint": endpoint("end-session"),
            "scopes_supported": list(oauth2_settings.SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": client_auth,
            "revocation_endpoint_auth_methods_supported": client_auth,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": TOKEN_CLAIMS + PROFILE_CLAIMS,
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
        response = JsonResponse(data)
        response["Access-Control-Allow-Origin"] = "*"
        return response

"""A tiny reporting station for trying single sign-on and single logout on the embedded
default (and for the browser tests). It behaves as a separate relying party would, with its
own cookie and its own sessions (in the cache), talking to the portal only over HTTP:

- sign-in: /o/authorize/ with PKCE, the code exchanged at /o/token/, the ID token checked
  against the JWKS (signature, issuer, audience, nonce); its sid is noted;
- sign-out at the station ("登出"): its own session ends, then the portal's end-session
  endpoint with the ID token as hint, back to /demo-station/signed-out/ with its state;
- a portal sign-out: the portal POSTs a logout token to /demo-station/backchannel-logout/;
  checked like an ID token (and its event, and no nonce), it ends the station's sessions of
  that sid.

Mounted at /demo-station/ only when DEMO_STATION_ENABLED (default: DEBUG)."""

import base64
import hashlib
import json
import secrets
import time
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from jwcrypto import jwk, jwt
from jwcrypto.common import JWException

SLUG = "demo"
CLIENT_SECRET = "demo-station-secret-for-the-embedded-default-only"
COOKIE = "demo_station"  # the station's own session: its id, signed
FLOW_COOKIE = "demo_station_flow"  # a sign-in or sign-out under way: its id, signed
LIFETIME = 8 * 3600
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"

app_name = "demo-station"


def ensure_demo_station(base_url: str):
    """The demo station and its client (idempotent); used by the demo command and tests."""
    from stations.models import Station

    station = Station.objects.filter(slug=SLUG).first() or Station(
        slug=SLUG,
        name="示範編報站",
        icon="示",
        description="試用單一登入與單一登出：進入後會顯示編報站收到的個人資料。",
        fields=["username", "unit", "full_name", "title", "email"],
    )
    station.entry_url = f"{base_url}/demo-station/"
    station.redirect_uris = f"{base_url}/demo-station/callback/"
    station.post_logout_redirect_uris = f"{base_url}/demo-station/signed-out/"
    station.backchannel_logout_uri = f"{base_url}/demo-station/backchannel-logout/"
    station.save()
    station.client.client_secret = CLIENT_SECRET  # hashed on save
    station.client.save()
    return station


def _station():
    from stations.models import Station

    return Station.objects.select_related("client").get(slug=SLUG)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _portal(path: str, data: dict | None = None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    url = f"{settings.PORTAL_BASE_URL}{path}"
    with urllib.request.urlopen(url, data=body, timeout=10) as response:  # noqa: S310
        return response.read()


def _verified(token: str, station, typ=None) -> dict:
    """A JWT from the portal checked as a relying party checks it; ValueError otherwise."""
    keys = jwk.JWKSet.from_json(_portal("/o/.well-known/jwks.json"))
    try:
        checked = jwt.JWT(jwt=token, key=keys, algs=["RS256"])
    except (JWException, ValueError) as error:
        raise ValueError(f"signature or times: {error}") from error
    claims = json.loads(checked.claims)
    if typ and json.loads(checked.header).get("typ") != typ:
        raise ValueError("type")
    if claims.get("iss") != json.loads(_portal("/o/.well-known/openid-configuration"))["issuer"]:
        raise ValueError("issuer")
    if claims.get("aud") != station.client.client_id:
        raise ValueError("audience")
    return claims


# --- The station's own sessions (in the cache, by id; each sid lists its sessions) ---------


def _signed_in(request):
    session_id = request.get_signed_cookie(COOKIE, default=None, salt=COOKIE)
    return cache.get(f"demo-station:session:{session_id}") if session_id else None


def _start_session(response, claims, id_token):
    session_id = secrets.token_urlsafe(24)
    cache.set(
        f"demo-station:session:{session_id}",
        {"claims": claims, "id_token": id_token, "sid": claims.get("sid", "")},
        LIFETIME,
    )
    key = f"demo-station:sid:{claims.get('sid', '')}"
    cache.set(key, [*(cache.get(key) or []), session_id], LIFETIME)
    response.set_signed_cookie(
        COOKIE, session_id, salt=COOKIE, path="/demo-station/", httponly=True, samesite="Lax"
    )


def _end_sessions_of(sid: str) -> int:
    session_ids = cache.get(f"demo-station:sid:{sid}") or []
    cache.delete_many([f"demo-station:session:{session_id}" for session_id in session_ids])
    cache.delete(f"demo-station:sid:{sid}")
    return len(session_ids)


def _flow(request, response=None, **started):
    """The sign-in or sign-out under way (PKCE verifier, state, nonce): started with values,
    else read once."""
    if started:
        flow_id = secrets.token_urlsafe(16)
        cache.set(f"demo-station:flow:{flow_id}", started, 600)
        response.set_signed_cookie(
            FLOW_COOKIE, flow_id, salt=FLOW_COOKIE, path="/demo-station/", httponly=True
        )
        return started
    flow_id = request.get_signed_cookie(FLOW_COOKIE, default=None, salt=FLOW_COOKIE)
    flow = cache.get(f"demo-station:flow:{flow_id}") if flow_id else None
    if flow:
        cache.delete(f"demo-station:flow:{flow_id}")
    return flow


# --- The pages -------------------------------------------------------------------------------


@never_cache
def start(request):
    """Signed in at the station: its page; otherwise the sign-in starts."""
    station = _station()
    session = _signed_in(request)
    if session:
        shown = {
            key: value
            for key, value in session["claims"].items()
            if key not in {"aud", "iss", "exp", "iat", "auth_time", "nonce", "at_hash", "jti"}
        }
        return render(request, "stations/demo_station.html", {"claims": shown, "station": station})
    verifier, state, nonce = (
        secrets.token_urlsafe(48),
        secrets.token_urlsafe(16),
        secrets.token_urlsafe(16),
    )
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": station.client.client_id,
            "redirect_uri": station.redirect_uri_list[0],
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    response = redirect(f"{reverse('oauth2_provider:authorize')}?{query}")
    _flow(request, response, verifier=verifier, state=state, nonce=nonce)
    return response


@never_cache
def callback(request):
    flow = _flow(request)
    if not flow or request.GET.get("state") != flow.get("state"):
        return HttpResponseBadRequest("demo station: no sign-in in progress")
    station = _station()
    if "error" in request.GET:  # access_denied, login_required, ...
        context = {"station": station, "error": request.GET["error"]}
        return render(request, "stations/demo_station_out.html", context)
    tokens = json.loads(
        _portal(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": request.GET.get("code", ""),
                "redirect_uri": station.redirect_uri_list[0],
                "code_verifier": flow["verifier"],
                "client_id": station.client.client_id,
                "client_secret": CLIENT_SECRET,
            },
        )
    )
    try:
        claims = _verified(tokens["id_token"], station)
    except ValueError:
        return HttpResponseBadRequest("demo station: the ID token is not ours")
    if claims.get("nonce") != flow["nonce"]:
        return HttpResponseBadRequest("demo station: the ID token is not ours")
    response = redirect("demo-station:start")
    _start_session(response, claims, tokens["id_token"])
    return response


@require_POST
def sign_out(request):
    """The station's sign-out: its own session ends, then the portal's (RP-initiated)."""
    session = _signed_in(request)
    if not session:
        return redirect("demo-station:signed-out")
    _end_sessions_of(session["sid"])
    station, state = _station(), secrets.token_urlsafe(16)
    query = urllib.parse.urlencode(
        {
            "id_token_hint": session["id_token"],
            "post_logout_redirect_uri": station.post_logout_redirect_uri_list[0],
            "state": state,
        }
    )
    response = redirect(f"{reverse('oauth2_provider:end-session')}?{query}")
    _flow(request, response, state=state)
    response.delete_cookie(COOKIE, path="/demo-station/")
    return response


@never_cache
def signed_out(request):
    flow = _flow(request)
    context = {
        "station": _station(),
        "state_matches": bool(flow) and request.GET.get("state") == flow.get("state"),
    }
    return render(request, "stations/demo_station_out.html", context)


@csrf_exempt  # the portal's server posts here, not a browser
@require_POST
def backchannel_logout(request):
    """A logout token from the portal (Back-Channel Logout 1.0 2.6): checked, then every
    session of the station with that sid ends. 200 when done, 400 when the token is bad."""
    station = _station()
    try:
        claims = _verified(request.POST.get("logout_token", ""), station, typ="logout+jwt")
        if BACKCHANNEL_EVENT not in (claims.get("events") or {}) or "nonce" in claims:
            raise ValueError("events")
        if not claims.get("sid") or claims.get("iat", 0) < time.time() - 600:
            raise ValueError("sid or iat")
    except ValueError as error:
        return JsonResponse(
            {"error": "invalid_request", "error_description": str(error)}, status=400
        )
    _end_sessions_of(claims["sid"])
    response = JsonResponse({})
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("", start, name="start"),
    path("callback/", callback, name="callback"),
    path("logout/", sign_out, name="logout"),
    path("signed-out/", signed_out, name="signed-out"),
    path("backchannel-logout/", backchannel_logout, name="backchannel-logout"),
]

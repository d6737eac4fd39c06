"""A tiny reporting station for trying single sign-on on the embedded default (and for the
browser test): it signs in through /o/authorize/ with PKCE, exchanges the code at
/o/token/, checks the ID token against the JWKS and shows what it received.
Mounted at /demo-station/ only when DEMO_STATION_ENABLED (default: DEBUG)."""

import base64
import hashlib
import json
import secrets
import urllib.parse
import urllib.request

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from jwcrypto import jwk, jwt

SLUG = "demo"
CLIENT_SECRET = "demo-station-secret-for-the-embedded-default-only"

app_name = "demo-station"


def ensure_demo_station(base_url: str):
    """The demo station and its client (idempotent); used by the demo command and tests."""
    from stations.models import Station

    station = Station.objects.filter(slug=SLUG).first()
    callback = f"{base_url}/demo-station/callback/"
    if station is None:
        station = Station(
            slug=SLUG,
            name="示範編報站",
            icon="示",
            description="試用單一登入：進入後會顯示編報站收到的個人資料。",
            entry_url=f"{base_url}/demo-station/",
            redirect_uris=callback,
            fields=["username", "unit", "full_name", "title", "email"],
        )
        station.save()
    else:
        station.entry_url, station.redirect_uris = f"{base_url}/demo-station/", callback
        station.save()
    station.client.client_secret = CLIENT_SECRET  # hashed on save
    station.client.save()
    return station


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def start(request):
    from stations.models import Station

    station = Station.objects.get(slug=SLUG)
    verifier, state, nonce = (
        secrets.token_urlsafe(48),
        secrets.token_urlsafe(16),
        secrets.token_urlsafe(16),
    )
    request.session["demo_station"] = {"verifier": verifier, "state": state, "nonce": nonce}
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": station.client.client_id,
            "redirect_uri": station.redirect_uris.split()[0],
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
    )
    return redirect(f"{reverse('oauth2_provider:authorize')}?{query}")


def callback(request):
    from stations.models import Station

    flow = request.session.pop("demo_station", None)
    if not flow or request.GET.get("state") != flow["state"] or "code" not in request.GET:
        return HttpResponseBadRequest("demo station: no sign-in in progress")
    station = Station.objects.get(slug=SLUG)
    base = settings.PORTAL_BASE_URL
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": request.GET["code"],
            "redirect_uri": station.redirect_uris.split()[0],
            "code_verifier": flow["verifier"],
            "client_id": station.client.client_id,
            "client_secret": CLIENT_SECRET,
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/o/token/", data=body, timeout=10) as response:  # noqa: S310
        tokens = json.load(response)
    with urllib.request.urlopen(f"{base}/o/.well-known/jwks.json", timeout=10) as response:  # noqa: S310
        keys = jwk.JWKSet.from_json(response.read())
    claims = json.loads(jwt.JWT(jwt=tokens["id_token"], key=keys).claims)
    if claims.get("nonce") != flow["nonce"] or claims.get("aud") != station.client.client_id:
        return HttpResponseBadRequest("demo station: the ID token is not ours")
    shown = {
        k: v
        for k, v in claims.items()
        if k not in {"aud", "iss", "exp", "iat", "auth_time", "nonce", "at_hash", "jti"}
    }
    return render(request, "stations/demo_station.html", {"claims": shown, "station": station})


urlpatterns = [
    path("", start, name="start"),
    path("callback/", callback, name="callback"),
]

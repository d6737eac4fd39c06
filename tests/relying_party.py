"""A station as the tests drive it: what an OpenID Connect relying party does over HTTP (PKCE,
the authorization request through the person's browser, the token exchange and refresh from
its own server, ID tokens and logout tokens checked against the portal's JWKS), and a small
back-channel logout receiver: a real HTTP server in a thread."""

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from django.test import Client
from jwcrypto import jwk, jwt

from stations.models import Station
from tests.conftest import free_port

REDIRECT = "https://stats.example.tw/callback"
SIGNED_OUT = "https://stats.example.tw/signed-out"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def make_station(**fields) -> Station:
    defaults = {
        "slug": "stats",
        "name": "公務統計報表",
        "entry_url": "https://stats.example.tw/",
        "redirect_uris": REDIRECT,
        "post_logout_redirect_uris": SIGNED_OUT,
        "fields": ["username", "unit", "full_name"],
    }
    station = Station(**{**defaults, **fields})
    station.save()
    return station


def jwks() -> jwk.JWKSet:
    return jwk.JWKSet.from_json(Client().get("/o/.well-known/jwks.json").content)


def verified(token: str, *, typ: str | None = None) -> dict:
    """The claims of a JWT whose RS256 signature checks against the portal's JWKS (raises
    otherwise); ``typ``, when given, must be the header's."""
    checked = jwt.JWT(jwt=token, key=jwks(), algs=["RS256"])
    header = json.loads(checked.header)
    assert header["alg"] == "RS256"
    if typ is not None:
        assert header.get("typ") == typ, header
    return json.loads(checked.claims)


def query_of(response) -> dict:
    """The parameters of a redirect back to the station (each once)."""
    location = urlparse(response["Location"])
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def back_at(response, uri=REDIRECT) -> bool:
    if response.status_code != 302:
        return False
    location = urlparse(response["Location"])
    return f"{location.scheme}://{location.netloc}{location.path}" == uri


class RelyingParty:
    """One sign-in attempt of a station, with its own PKCE verifier, state and nonce."""

    def __init__(self, station, browser, redirect_uri=REDIRECT):
        self.station, self.browser, self.redirect_uri = station, browser, redirect_uri
        self.verifier = secrets.token_urlsafe(48)
        self.state = secrets.token_urlsafe(12)
        self.nonce = secrets.token_urlsafe(12)

    @property
    def client_id(self):
        return self.station.client.client_id

    @property
    def secret(self):
        return self.station.new_client_secret

    def challenge(self, verifier=None) -> str:
        digest = hashlib.sha256((verifier or self.verifier).encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def params(self, **overrides) -> dict:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid profile",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.challenge(),
            "code_challenge_method": "S256",
            **overrides,
        }
        return {key: value for key, value in params.items() if value is not None}

    def authorize_url(self, **overrides) -> str:
        return "/o/authorize/?" + urlencode(self.params(**overrides))

    def authorize(self, **overrides):
        """The browser follows the station's redirect to the authorization endpoint."""
        return self.browser.get(self.authorize_url(**overrides))

    def code_from(self, response) -> str:
        assert back_at(response, self.redirect_uri), (
            response.status_code,
            response.get("Location"),
        )
        query = query_of(response)
        assert query.get("state") == self.state
        assert "code" in query, query
        return query["code"]

    def token(self, code, *, verifier=None, redirect_uri=None, basic=False, secret=None):
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "code_verifier": verifier or self.verifier,
        }
        return self._to_token_endpoint(data, basic=basic, secret=secret)

    def refresh(self, refresh_token):
        return self._to_token_endpoint(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    def _to_token_endpoint(self, data, *, basic=False, secret=None):
        secret = secret or self.secret
        if basic:
            credentials = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode()
            return Client().post("/o/token/", data, HTTP_AUTHORIZATION=f"Basic {credentials}")
        data = {**data, "client_id": self.client_id, "client_secret": secret}
        return Client().post("/o/token/", data)

    def sign_in(self, **overrides):
        """The whole flow for an account with grant and consent: tokens and ID token claims."""
        response = self.authorize(**overrides)
        tokens = self.token(self.code_from(response))
        assert tokens.status_code == 200, tokens.content
        tokens = tokens.json()
        claims = verified(tokens["id_token"])
        assert claims["aud"] == self.client_id and claims["nonce"] == self.nonce
        return tokens, claims

    def end_session_url(self, **params) -> str:
        return "/o/logout/?" + urlencode({k: v for k, v in params.items() if v is not None})


def userinfo(access_token, **extra):
    return Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}", **extra)


# --- A station's back-channel logout endpoint ------------------------------------------------


class Receiver:
    """A station's back-channel logout URI: a real HTTP server on loopback, in a thread. It
    keeps every POST's form body; it answers ``status`` (200 by default). ``hold`` makes it
    wait, without answering, until ``release`` is set. It can be down (not listening) and
    come up later on the same port."""

    def __init__(self, status=200):
        self.port = free_port()
        self.status = status
        self.posts: list[dict] = []
        self.arrived = threading.Event()
        self.hold = False
        self.release = threading.Event()
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backchannel-logout"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                receiver.posts.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "form": {k: v[0] for k, v in parse_qs(body).items()},
                    }
                )
                receiver.arrived.set()
                if receiver.hold:
                    receiver.release.wait(30)
                self.send_response(receiver.status)
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self.release.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def logout_tokens(self) -> list[str]:
        return [post["form"]["logout_token"] for post in self.posts]

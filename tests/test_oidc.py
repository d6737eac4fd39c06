"""The portal as the stations' OpenID Connect provider: a complete authorization-code flow
with PKCE, run as a station would run it, the ID token checked against the JWKS."""

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk, jwt

from accounts.hashers import PortalArgon2PasswordHasher
from accounts.models import Account, SecurityEvent
from stations.models import Station
from stations.oidc import verified_secrets
from stations.services import give_consent, grant_station, revoke_station
from tests.conftest import GOOD_PASSWORD, sign_in

pytestmark = pytest.mark.django_db

REDIRECT = "https://stats.example.tw/callback"


@pytest.fixture
def station(db):
    station = Station(
        slug="stats",
        name="公務統計報表",
        entry_url="https://stats.example.tw/",
        redirect_uris=REDIRECT,
        fields=["username", "unit", "full_name"],
    )
    station.save()
    return station


@pytest.fixture
def teacher_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


class Station_:
    """What a station does: PKCE, the authorize redirect, the token exchange."""

    def __init__(self, station, client):
        self.station, self.client = station, client
        self.verifier = secrets.token_urlsafe(48)
        self.nonce = secrets.token_urlsafe(12)

    def authorize_url(self, **overrides):
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()
        ).rstrip(b"=")
        params = {
            "response_type": "code",
            "client_id": self.station.client.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid profile email",
            "state": "state-123",
            "nonce": self.nonce,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            **overrides,
        }
        return "/o/authorize/?" + urlencode({k: v for k, v in params.items() if v is not None})

    def authorize(self, **overrides):
        return self.client.get(self.authorize_url(**overrides))

    def token(self, code, verifier=None):
        return Client().post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier or self.verifier,
                "client_id": self.station.client.client_id,
                "client_secret": self.station.new_client_secret,
            },
        )

    def sign_in(self):
        """The whole flow for an account that has the grant and consent: the ID token's claims."""
        response = self.authorize()
        assert response.status_code == 302, response.content[:500]
        code = code_of(response)
        tokens = self.token(code).json()
        return tokens, verified_claims(tokens["id_token"])


def code_of(response) -> str:
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


def verified_claims(id_token) -> dict:
    keys = jwk.JWKSet.from_json(Client().get("/o/.well-known/jwks.json").content)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"])  # raises on a bad signature
    assert json.loads(token.header)["alg"] == "RS256"
    return json.loads(token.claims)


def userinfo(access_token):
    return Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def grant_and_consent(account, station):
    grant_station(account=account, station=station, actor=None)
    give_consent(account=account, station=station)


def test_a_station_signs_a_teacher_in_and_receives_only_the_consented_fields(
    teacher_in, teacher, station
):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    tokens, claims = relying_party.sign_in()
    discovery = Client().get("/o/.well-known/openid-configuration").json()
    assert claims["iss"] == discovery["issuer"]
    assert claims["aud"] == station.client.client_id
    assert claims["nonce"] == relying_party.nonce
    assert claims["sub"] == str(teacher.pk)
    assert claims["preferred_username"] == "010300_teacher01"
    assert claims["unit_code"] == "010300"
    assert claims["unit_name"] == "國立示範高級中學"
    assert claims["name"] == "林志明"
    for absent in ("email", "phone_number", "office", "title"):
        assert absent not in claims  # not consented, though the station asked for scope email
    info = userinfo(tokens["access_token"]).json()
    assert info["name"] == "林志明"
    assert "email" not in info
    assert tokens["expires_in"] == 600


def test_discovery_and_jwks_describe_an_rs256_provider(station):
    discovery = Client().get("/o/.well-known/openid-configuration").json()
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    assert station.client.algorithm == "RS256"
    assert discovery["jwks_uri"].endswith("/o/.well-known/jwks.json")
    assert discovery["authorization_endpoint"].endswith("/o/authorize/")
    assert "S256" in discovery["code_challenge_methods_supported"]
    keys = Client().get("/o/.well-known/jwks.json").json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"


def test_nobody_can_register_a_client(teacher_in):
    assert teacher_in.get("/o/applications/register/").status_code == 404
    assert Client().post("/o/register/", {}).status_code == 404


def test_without_consent_the_authorize_step_shows_the_portal_consent_page(
    teacher_in, teacher, station
):
    grant_station(account=teacher, station=station, actor=None)
    relying_party = Station_(station, teacher_in)
    response = relying_party.authorize()
    assert response.status_code == 302
    assert response["Location"].startswith("/stations/stats/?next=")
    page = teacher_in.get(response["Location"]).content.decode()
    assert "同意授權" in page and "不同意" in page
    for label in ("帳號", "單位代碼與名稱", "姓名"):
        assert label in page
    assert "公務信箱" not in page  # only the fields the station receives
    next_url = relying_party.authorize_url()
    allowed = teacher_in.post("/stations/stats/consent/", {"decision": "allow", "next": next_url})
    assert allowed["Location"] == next_url
    code = code_of(teacher_in.get(allowed["Location"]))
    claims = verified_claims(relying_party.token(code).json()["id_token"])
    assert claims["name"] == "林志明"


def test_an_account_without_the_grant_is_refused(teacher_in, station):
    response = Station_(station, teacher_in).authorize()
    assert response["Location"].startswith(REDIRECT + "?")
    assert parse_qs(urlparse(response["Location"]).query)["error"] == ["access_denied"]
    assert teacher_in.get("/stations/stats/").status_code == 403  # its tile says whom to ask


def test_denying_consent_issues_no_code(teacher_in, teacher, station):
    grant_station(account=teacher, station=station, actor=None)
    relying_party = Station_(station, teacher_in)
    response = teacher_in.post(
        "/stations/stats/consent/", {"decision": "deny", "next": relying_party.authorize_url()}
    )
    answer = teacher_in.get(response["Location"])
    assert "error=access_denied" in answer["Location"] and "code=" not in answer["Location"]
    assert relying_party.authorize()["Location"].startswith("/stations/stats/")  # still asks
    assert SecurityEvent.objects.filter(kind="consent_denied", account=teacher).exists()


def test_revoking_consent_ends_the_tokens_and_asks_again(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    tokens, _claims = relying_party.sign_in()
    assert userinfo(tokens["access_token"]).status_code == 200
    teacher_in.post("/me/stations/", {"station": "stats"})
    assert userinfo(tokens["access_token"]).status_code == 401
    assert relying_party.authorize()["Location"].startswith("/stations/stats/")
    assert SecurityEvent.objects.filter(kind="consent_revoked", account=teacher).exists()


def test_taking_the_grant_away_ends_the_tokens(teacher_in, teacher, station, holder):
    grant_and_consent(teacher, station)
    tokens, _claims = Station_(station, teacher_in).sign_in()
    revoke_station(account=teacher, station=station, actor=holder)
    assert userinfo(tokens["access_token"]).status_code == 401
    assert "error=access_denied" in Station_(station, teacher_in).authorize()["Location"]


def test_a_new_field_list_asks_for_consent_again(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    station.fields = [*station.fields, "email"]
    station.save()
    relying_party = Station_(station, teacher_in)
    response = relying_party.authorize()
    assert response["Location"].startswith("/stations/stats/")
    assert "公務信箱" in teacher_in.get(response["Location"]).content.decode()
    teacher_in.post("/stations/stats/consent/", {"decision": "allow"})
    _tokens, claims = relying_party.sign_in()
    assert claims["email"] == "teacher01@school.edu.tw"


def test_a_disabled_accounts_tokens_stop_working(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    tokens, _claims = Station_(station, teacher_in).sign_in()
    Account.objects.filter(pk=teacher.pk).update(state=Account.State.DISABLED)
    assert userinfo(tokens["access_token"]).status_code == 401
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": station.client.client_id,
            "client_secret": station.new_client_secret,
        },
    )
    assert refreshed.status_code in (400, 401)
    assert "access_token" not in refreshed.json()


def test_a_wrong_redirect_uri_is_refused_without_redirecting(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    response = Station_(station, teacher_in).authorize(redirect_uri="https://evil.example/steal")
    assert response.status_code == 400
    assert "evil.example" not in response.get("Location", "")


def test_a_code_works_once(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    code = code_of(relying_party.authorize())
    assert relying_party.token(code).status_code == 200
    replay = relying_party.token(code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_pkce_is_required_and_checked(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    without = relying_party.authorize(code_challenge=None, code_challenge_method=None)
    assert "error=invalid_request" in without["Location"]
    code = code_of(relying_party.authorize())
    wrong = relying_party.token(code, verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_a_guest_is_sent_to_the_portal_sign_in_first(client, station):
    response = Station_(station, client).authorize()
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/o/authorize/")


def test_a_station_is_a_client_from_slug_name_and_address_alone(db):
    station = Station.objects.create(
        slug="minimal", name="最小編報站", entry_url="https://m.example.tw/"
    )
    assert station.client is not None
    assert station.client.algorithm == "RS256"
    assert station.client.client_secret != station.new_client_secret  # stored hashed


def test_posting_straight_to_authorize_cannot_skip_grant_or_consent(teacher_in, teacher, station):
    relying_party = Station_(station, teacher_in)
    url = relying_party.authorize_url()
    response = teacher_in.post(url, {"allow": "Authorize"})
    answer = teacher_in.get(response["Location"])  # no grant: access_denied, no code
    assert "error=access_denied" in answer["Location"] and "code=" not in answer["Location"]
    grant_station(account=teacher, station=station, actor=None)
    response = teacher_in.post(url, {"allow": "Authorize"})
    assert teacher_in.get(response["Location"])["Location"].startswith("/stations/stats/")


def test_a_code_issued_before_the_grant_is_withdrawn_is_worthless(
    teacher_in, teacher, station, holder
):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    code = code_of(relying_party.authorize())
    revoke_station(account=teacher, station=station, actor=holder)
    assert relying_party.token(code).status_code == 400


def test_a_code_of_an_account_disabled_since_is_worthless(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    code = code_of(relying_party.authorize())
    Account.objects.filter(pk=teacher.pk).update(state=Account.State.DISABLED)
    assert relying_party.token(code).status_code == 400


def test_a_client_that_is_no_stations_is_refused(teacher_in, teacher, station):
    from oauth2_provider.models import get_application_model

    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    station.delete()
    assert not get_application_model().objects.exists()  # the client went with its station
    stray = get_application_model().objects.create(
        name="stray",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT,
        algorithm="RS256",
        skip_authorization=True,
    )
    relying_party.station = type("S", (), {"client": stray})()
    assert relying_party.authorize().status_code == 403


def test_the_authorization_response_names_the_same_issuer_as_discovery(
    teacher_in, teacher, station
):
    grant_and_consent(teacher, station)
    response = Station_(station, teacher_in).authorize()
    iss = parse_qs(urlparse(response["Location"]).query)["iss"][0]
    discovery = Client().get("/o/.well-known/openid-configuration").json()
    assert iss == discovery["issuer"]


def test_prompt_none_answers_the_station_instead_of_asking(teacher_in, teacher, station, client):
    grant_station(account=teacher, station=station, actor=None)
    response = Station_(station, teacher_in).authorize(prompt="none")
    assert response.status_code == 302
    assert "error=consent_required" in response["Location"]
    assert response["Location"].startswith(REDIRECT)


def test_only_the_authorize_endpoint_itself_may_follow_consent(teacher_in, teacher, station):
    grant_station(account=teacher, station=station, actor=None)
    response = teacher_in.post(
        "/stations/stats/consent/", {"decision": "allow", "next": "/o/authorize/../../admin/"}
    )
    assert response["Location"] == "https://stats.example.tw/"


# --- The access token travels in the Authorization header only -----------------------------


def test_userinfo_refuses_an_access_token_in_the_query_string(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    tokens, _claims = Station_(station, teacher_in).sign_in()
    response = Client().get(f"/o/userinfo/?access_token={tokens['access_token']}")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "林志明" not in response.content.decode()
    assert userinfo(tokens["access_token"]).json()["name"] == "林志明"  # the header works


def test_userinfo_refuses_an_access_token_in_a_form_body(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    tokens, _claims = Station_(station, teacher_in).sign_in()
    response = Client().post("/o/userinfo/", {"access_token": tokens["access_token"]})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"
    assert "林志明" not in response.content.decode()
    posted = Client().post("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert posted.status_code == 200
    assert posted.json()["name"] == "林志明"


def test_userinfo_refuses_a_query_token_even_beside_a_header(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    tokens, _claims = Station_(station, teacher_in).sign_in()
    response = Client().get(
        f"/o/userinfo/?access_token={tokens['access_token']}",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}",
    )
    assert response.status_code == 401


# --- /o/token/ is rate-limited before the client secret is checked --------------------------


class CountingArgon2Hasher(PortalArgon2PasswordHasher):
    """The project's hasher, counting its verifies: the client secret's check."""

    verifies = 0

    def verify(self, password, encoded):
        CountingArgon2Hasher.verifies += 1
        return super().verify(password, encoded)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [
        "tests.test_oidc.CountingArgon2Hasher" if "Argon2" in name else name
        for name in settings.PASSWORD_HASHERS
    ]
    CountingArgon2Hasher.verifies = 0
    verified_secrets.forget()
    return CountingArgon2Hasher


def wrong_secret_exchange(station, address="198.51.100.20", client_id=None):
    return Client(REMOTE_ADDR=address).post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": "no-such-code",
            "redirect_uri": REDIRECT,
            "code_verifier": secrets.token_urlsafe(48),
            "client_id": client_id or station.client.client_id,
            "client_secret": "wrong-secret",
        },
    )


def test_over_the_per_client_limit_the_token_endpoint_refuses_without_checking_the_secret(
    teacher_in, teacher, station, counting_hasher, settings
):
    settings.OIDC_TOKEN_RATE_PER_CLIENT = "4/m"
    with time_machine.travel(timezone.now(), tick=False):  # one rate window throughout
        for _ in range(4):
            assert wrong_secret_exchange(station).status_code == 401
        assert counting_hasher.verifies == 4
        refused = wrong_secret_exchange(station)
        assert refused.status_code == 429
        assert refused.json()["error"] == "slow_down"
        assert int(refused["Retry-After"]) >= 1
        assert counting_hasher.verifies == 4  # refused before the secret was checked


def test_a_flood_of_wrong_secrets_does_not_stop_the_stations_own_exchanges(
    teacher_in, teacher, station, counting_hasher, settings
):
    """A client_id is public (it is in every authorization URL): a flood uses up the
    flooder's counters, never the station's."""
    settings.OIDC_TOKEN_RATE_PER_CLIENT = "4/m"
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(6):
            wrong_secret_exchange(station, address="198.51.100.66")
        assert wrong_secret_exchange(station, address="198.51.100.66").status_code == 429
        code = code_of(relying_party.authorize())
        assert relying_party.token(code).status_code == 200


def test_a_busy_stations_exchanges_cost_one_slow_check_and_are_never_refused(
    teacher_in, teacher, station, counting_hasher, settings
):
    """Refreshes every ten minutes for thousands of teachers come from one station server:
    once its secret is verified, its exchanges are checked without argon2 and not counted."""
    settings.OIDC_TOKEN_RATE_PER_CLIENT = "2/m"
    settings.OIDC_TOKEN_RATE_PER_ADDRESS = "2/m"
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(6):
            code = code_of(relying_party.authorize())
            assert relying_party.token(code).status_code == 200
        assert counting_hasher.verifies == 1
        # A wrong secret from the station's own address is still a slow check, counted.
        assert wrong_secret_exchange(station, address="127.0.0.1").status_code == 401
        assert wrong_secret_exchange(station, address="127.0.0.1").status_code == 429
        assert counting_hasher.verifies == 2


def test_over_the_per_address_limit_the_token_endpoint_refuses_any_client(
    station, counting_hasher, settings
):
    settings.OIDC_TOKEN_RATE_PER_ADDRESS = "3/m"
    other = Station(slug="other", name="另一編報站", entry_url="https://o.example.tw/")
    other.save()
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(3):
            assert wrong_secret_exchange(station).status_code == 401
        refused = wrong_secret_exchange(other)  # another client, the same address
        assert refused.status_code == 429
        assert refused.json()["error"] == "slow_down"
        assert counting_hasher.verifies == 3
        assert wrong_secret_exchange(other, address="198.51.100.77").status_code == 401


def test_a_client_id_in_http_basic_is_counted_as_the_client(station, counting_hasher, settings):
    settings.OIDC_TOKEN_RATE_PER_CLIENT = "2/m"
    basic = base64.b64encode(f"{station.client.client_id}:wrong-secret".encode()).decode()
    data = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(2):
            response = Client(REMOTE_ADDR="198.51.100.5").post(
                "/o/token/", data, HTTP_AUTHORIZATION=f"Basic {basic}"
            )
            assert response.status_code == 401
        assert wrong_secret_exchange(station, address="198.51.100.5").status_code == 429
        assert counting_hasher.verifies == 2


def test_honest_exchanges_below_the_default_limits_all_succeed(teacher_in, teacher, station):
    grant_and_consent(teacher, station)
    relying_party = Station_(station, teacher_in)
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(5):  # a busy second at a station
            code = code_of(relying_party.authorize())
            assert relying_party.token(code).status_code == 200

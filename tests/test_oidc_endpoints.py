"""The token, userinfo and discovery endpoints as a careful station relies on them: userinfo
errors in JSON, 403 insufficient_scope without openid; invalid_grant for a redirect URI that
differs, Basic challenged as Basic, a replayed code revoking its tokens (RFC 6749 4.1.2); a
discovery document that says exactly what the portal does."""

import pytest
from django.test import Client

from stations.oidc import PROFILE_CLAIMS
from stations.services import give_consent, grant_station
from tests.conftest import GOOD_PASSWORD, sign_in
from tests.relying_party import REDIRECT, RelyingParty, make_station, userinfo, verified

pytestmark = pytest.mark.django_db

# Provider metadata registered for OpenID Connect and OAuth (OpenID Connect Discovery 1.0 3,
# RP-Initiated and Back-Channel Logout 1.0, RFC 8414, RFC 9207): nothing else may appear.
REGISTERED_METADATA = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "registration_endpoint",
    "scopes_supported",
    "response_types_supported",
    "response_modes_supported",
    "grant_types_supported",
    "acr_values_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "revocation_endpoint",
    "revocation_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "claims_supported",
    "claims_parameter_supported",
    "request_parameter_supported",
    "request_uri_parameter_supported",
    "prompt_values_supported",
    "authorization_response_iss_parameter_supported",
    "end_session_endpoint",
    "backchannel_logout_supported",
    "backchannel_logout_session_supported",
}
SECOND_REDIRECT = "https://stats.example.tw/other-callback"


@pytest.fixture
def station(teacher):
    station = make_station(
        redirect_uris=f"{REDIRECT}\n{SECOND_REDIRECT}",
        fields=["username", "unit", "full_name", "office", "title", "phone", "email"],
    )
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    return station


@pytest.fixture
def teacher_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


def discovery():
    return Client().get("/o/.well-known/openid-configuration").json()


# --- 9. userinfo ---------------------------------------------------------------------------


def test_userinfo_errors_are_json_with_a_json_type_and_a_bearer_challenge(teacher_in, station):
    response = userinfo("no-such-token")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_a_token_without_the_openid_scope_gets_403_insufficient_scope(teacher_in, station):
    relying_party = RelyingParty(station, teacher_in)
    code = relying_party.code_from(relying_party.authorize(scope="profile"))
    tokens = relying_party.token(code).json()
    assert "id_token" not in tokens  # a plain OAuth token
    response = userinfo(tokens["access_token"])
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert "林志明" not in response.content.decode()


def test_userinfo_takes_the_token_from_the_header_only(teacher_in, station):
    tokens, _claims = RelyingParty(station, teacher_in).sign_in()
    in_query = Client().get(f"/o/userinfo/?access_token={tokens['access_token']}")
    assert in_query.status_code == 401 and in_query["Content-Type"] == "application/json"
    assert userinfo(tokens["access_token"]).json()["name"] == "林志明"


# --- 10. the token endpoint ------------------------------------------------------------------


def test_a_redirect_uri_that_differs_at_the_token_endpoint_is_invalid_grant(teacher_in, station):
    relying_party = RelyingParty(station, teacher_in)
    code = relying_party.code_from(relying_party.authorize())
    response = relying_party.token(code, redirect_uri=SECOND_REDIRECT)  # registered, not asked
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert relying_party.token(code).status_code == 200  # the code was not spent by it


def test_a_failed_basic_client_authentication_is_challenged_as_basic(teacher_in, station):
    relying_party = RelyingParty(station, teacher_in)
    code = relying_party.code_from(relying_party.authorize())
    response = relying_party.token(code, basic=True, secret="wrong-secret")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_client"
    assert relying_party.token(code, basic=True).status_code == 200


def test_a_replayed_code_revokes_the_tokens_issued_from_it(teacher_in, station):
    relying_party = RelyingParty(station, teacher_in)
    code = relying_party.code_from(relying_party.authorize())
    tokens = relying_party.token(code).json()
    assert userinfo(tokens["access_token"]).status_code == 200
    replay = relying_party.token(code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert userinfo(tokens["access_token"]).status_code == 401
    refreshed = relying_party.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    # Another sign-in of the same person at the same station is not touched.
    other, _claims = RelyingParty(station, teacher_in).sign_in()
    relying_party.token(code)
    assert userinfo(other["access_token"]).status_code == 200


# --- 11. discovery ---------------------------------------------------------------------------


def test_discovery_says_exactly_what_the_portal_does(db):
    data = discovery()
    assert set(data) <= REGISTERED_METADATA, set(data) - REGISTERED_METADATA
    assert data["response_types_supported"] == ["code"]
    assert data["response_modes_supported"] == ["query"]
    assert data["id_token_signing_alg_values_supported"] == ["RS256"]
    assert data["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["revocation_endpoint"].endswith("/o/revoke_token/")
    assert data["end_session_endpoint"].endswith("/o/logout/")
    assert data["request_uri_parameter_supported"] is False
    assert data["request_parameter_supported"] is False
    assert data["authorization_response_iss_parameter_supported"] is True
    assert data["backchannel_logout_supported"] is True
    assert data["backchannel_logout_session_supported"] is True
    assert set(data["prompt_values_supported"]) == {"none", "login", "consent"}


def test_claims_supported_lists_every_claim_a_station_can_receive(teacher_in, station):
    relying_party = RelyingParty(station, teacher_in)
    tokens, claims = relying_party.sign_in()
    from_userinfo = userinfo(tokens["access_token"]).json()
    refreshed = verified(relying_party.refresh(tokens["refresh_token"]).json()["id_token"])
    received = set(claims) | set(refreshed) | set(from_userinfo)
    assert set(PROFILE_CLAIMS) <= received  # every consented field arrived
    assert received <= set(discovery()["claims_supported"]), received - set(
        discovery()["claims_supported"]
    )


def test_every_endpoint_discovery_names_answers(db):
    data = discovery()
    for member in ("jwks_uri", "end_session_endpoint"):
        path = data[member].split("127.0.0.1:8000", 1)[1]
        assert Client().get(path).status_code == 200, member
    for member in ("token_endpoint", "revocation_endpoint"):
        path = data[member].split("127.0.0.1:8000", 1)[1]
        assert Client().post(path, {}).status_code in (400, 401), member

"""Authentication requests as a careful station relies on them (OpenID Connect Core 1.0,
3.1.2; RFC 9207; RFC 7636; RFC 9700): prompt and max_age, auth_time, errors that go back to
the station, consent asked again, POST, exact redirect URIs, iss on every answer, PKCE
values checked. Each test drives the code flow over HTTP as a station would, ID tokens
checked against the JWKS."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.lockout import lock_state
from accounts.models import Account, AccountSession, SecurityEvent
from stations.models import Consent
from stations.services import give_consent, grant_station
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    CommittingClient,
    bind_two_factor,
    next_totp_code,
    sign_in,
)
from tests.relying_party import RelyingParty, back_at, make_station, query_of, verified

pytestmark = pytest.mark.django_db

ISSUER = "http://127.0.0.1:8000/o"


@pytest.fixture
def station(db):
    return make_station()


@pytest.fixture
def granted(teacher, station):
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    return station


@pytest.fixture
def teacher_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


def error_back_at_the_station(response, relying_party, error):
    """The answer is a redirect to the station's redirect URI with this error, its state and
    the issuer: no portal page."""
    assert back_at(response), (response.status_code, response.get("Location"))
    query = query_of(response)
    assert query["error"] == error, query
    assert query["state"] == relying_party.state
    assert query["iss"] == ISSUER
    assert "code" not in query
    return query


def sign_in_again(client, next_url, password=GOOD_PASSWORD):
    """The sign-in page, asked to confirm the person: password and captcha (the login name
    is the session's)."""
    return client.post(
        "/login/",
        {"username": "someone_else", "password": password, "next": next_url, **CAPTCHA_OK},
    )


# --- 1. prompt=login and max_age make the person authenticate again ----------------------


def test_prompt_login_asks_a_signed_in_teacher_for_the_password_before_any_code(
    teacher_in, teacher, granted
):
    relying_party = RelyingParty(granted, teacher_in)
    sid_before = teacher_in.session["sid"]
    response = relying_party.authorize(prompt="login")
    assert not back_at(response)
    assert response["Location"].startswith("/login/?next=/o/authorize/")
    page = teacher_in.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "請再次登入" in html and 'value="010300_teacher01"' in html and "readonly" in html
    next_url = relying_party.authorize_url(prompt="login")
    wrong = sign_in_again(teacher_in, next_url, password="Wrong-Password-99!")
    assert wrong.status_code == 200 and "目前【1】" in wrong.content.decode()
    assert lock_state("010300_teacher01").failures == 1  # behind the lockout
    again = sign_in_again(teacher_in, next_url)
    assert again["Location"] == next_url
    code = relying_party.code_from(teacher_in.get(again["Location"]))
    claims = verified(relying_party.token(code).json()["id_token"])
    assert claims["sid"] == sid_before  # the same session, authenticated again
    assert AccountSession.objects.filter(account=teacher).count() == 1
    event = SecurityEvent.objects.filter(kind="sign_in_succeeded", account=teacher).first()
    assert event.detail == {"factor": "password", "again": True}


def test_prompt_login_asks_for_the_second_factor_when_it_is_bound(client, teacher, granted):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        bind_two_factor(teacher)
        sign_in(client, "010300_teacher01", GOOD_PASSWORD)
        traveller.shift(timedelta(minutes=2))  # the authenticator shows a new code by now
        relying_party = RelyingParty(granted, client)
        next_url = relying_party.authorize_url(prompt="login")
        assert relying_party.authorize(prompt="login")["Location"].startswith("/login/")
        password = sign_in_again(client, next_url)
        assert password["Location"].startswith("/login/two-factor/")
        assert relying_party.authorize(prompt="login")["Location"].startswith("/login/")
        code_step = client.post(
            password["Location"], {"code": next_totp_code(teacher), "account": teacher.username}
        )
        assert code_step["Location"] == next_url
        relying_party.code_from(client.get(next_url))


def test_a_locked_name_gets_no_code_however_right_the_password(teacher_in, teacher, granted):
    relying_party = RelyingParty(granted, teacher_in)
    next_url = relying_party.authorize_url(prompt="login")
    relying_party.authorize(prompt="login")
    for _ in range(3):
        sign_in_again(teacher_in, next_url, password="Wrong-Password-99!")
    assert lock_state("010300_teacher01").locked
    refused = sign_in_again(teacher_in, next_url)
    assert refused.status_code == 200 and "鎖定" in refused.content.decode()
    assert not back_at(teacher_in.get(next_url))


def test_max_age_asks_again_only_when_the_authentication_is_older(client, teacher, granted):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "010300_teacher01", GOOD_PASSWORD)
        signed_in_at = int(timezone.now().timestamp())
        traveller.shift(timedelta(minutes=4))
        fresh = RelyingParty(granted, client)
        _tokens, claims = fresh.sign_in(max_age="300")
        assert claims["auth_time"] == signed_in_at
        traveller.shift(timedelta(minutes=2))  # 6 minutes since the sign-in
        old = RelyingParty(granted, client)
        assert old.authorize(max_age="300")["Location"].startswith("/login/")
        again = sign_in_again(client, old.authorize_url(max_age="300"))
        code = old.code_from(client.get(again["Location"]))
        claims = verified(old.token(code).json()["id_token"])
        assert claims["auth_time"] == int(timezone.now().timestamp())


def test_max_age_zero_asks_every_time_and_a_fresh_authentication_answers_it(teacher_in, granted):
    relying_party = RelyingParty(granted, teacher_in)
    next_url = relying_party.authorize_url(max_age="0")
    assert relying_party.authorize(max_age="0")["Location"].startswith("/login/")
    again = sign_in_again(teacher_in, next_url)
    relying_party.code_from(teacher_in.get(again["Location"]))
    assert (
        RelyingParty(granted, teacher_in).authorize(max_age="0")["Location"].startswith("/login/")
    )


def test_a_guest_asked_with_prompt_login_signs_in_once(client, teacher, granted):
    relying_party = RelyingParty(granted, client)
    next_url = relying_party.authorize_url(prompt="login")
    response = relying_party.authorize(prompt="login")
    assert response["Location"].startswith("/login/?next=")
    signed_in = client.post(
        "/login/",
        {"username": "010300_teacher01", "password": GOOD_PASSWORD, "next": next_url, **CAPTCHA_OK},
    )
    assert signed_in["Location"] == next_url
    relying_party.code_from(client.get(next_url))


# --- 2. auth_time is this session's, and a refresh keeps it ------------------------------


def test_auth_time_is_when_this_session_signed_in_not_the_last_sign_in_elsewhere(teacher, granted):
    here, elsewhere = CommittingClient(), CommittingClient()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(here, "010300_teacher01", GOOD_PASSWORD)
        signed_in_here = int(timezone.now().timestamp())
        traveller.shift(timedelta(minutes=20))
        sign_in(elsewhere, "010300_teacher01", GOOD_PASSWORD)  # moves last_login
        assert Account.objects.get(pk=teacher.pk).last_login == timezone.now()
        _tokens, claims = RelyingParty(granted, here).sign_in()
        assert claims["auth_time"] == signed_in_here


def test_a_refreshed_id_token_carries_the_original_auth_time_and_sid(teacher_in, granted):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        relying_party = RelyingParty(granted, teacher_in)
        tokens, first = relying_party.sign_in()
        traveller.shift(timedelta(minutes=9))
        refreshed = relying_party.refresh(tokens["refresh_token"])
        assert refreshed.status_code == 200, refreshed.content
        claims = verified(refreshed.json()["id_token"])
        assert claims["iat"] == first["iat"] + 9 * 60
        assert claims["auth_time"] == first["auth_time"]
        assert claims["sid"] == first["sid"] == teacher_in.session["sid"]
        assert claims["sub"] == first["sub"]


# --- 3. Declined, not granted, and prompt=none: answered at the station ------------------


def test_declining_consent_sends_the_person_back_to_the_station_with_access_denied(
    teacher_in, teacher, station
):
    grant_station(account=teacher, station=station, actor=None)
    relying_party = RelyingParty(station, teacher_in)
    consent_page = relying_party.authorize()
    assert consent_page["Location"].startswith("/stations/stats/?next=")
    declined = teacher_in.post(
        "/stations/stats/consent/", {"decision": "deny", "next": relying_party.authorize_url()}
    )
    assert declined["Location"] == relying_party.authorize_url()
    error_back_at_the_station(teacher_in.get(declined["Location"]), relying_party, "access_denied")
    assert not Consent.objects.exists()
    # Declined once is not declined for ever: the next sign-in asks again.
    assert RelyingParty(station, teacher_in).authorize()["Location"].startswith("/stations/")


def test_an_account_without_the_grant_goes_back_to_the_station_with_access_denied(
    teacher_in, station
):
    relying_party = RelyingParty(station, teacher_in)
    error_back_at_the_station(relying_party.authorize(), relying_party, "access_denied")


def test_prompt_none_never_shows_a_page(client, teacher, station, settings):
    relying_party = RelyingParty(station, client)
    error_back_at_the_station(
        relying_party.authorize(prompt="none"), relying_party, "login_required"
    )
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    error_back_at_the_station(
        relying_party.authorize(prompt="none"), relying_party, "access_denied"
    )
    grant_station(account=teacher, station=station, actor=None)
    error_back_at_the_station(
        relying_party.authorize(prompt="none"), relying_party, "consent_required"
    )
    give_consent(account=teacher, station=station)
    relying_party.code_from(relying_party.authorize(prompt="none"))


def test_prompt_none_with_an_authentication_older_than_max_age_is_login_required(
    teacher_in, granted
):
    relying_party = RelyingParty(granted, teacher_in)
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        response = relying_party.authorize(prompt="none", max_age="60")
        error_back_at_the_station(response, relying_party, "login_required")


def test_prompt_none_while_a_required_step_waits_is_interaction_required(
    client, teacher, granted, settings
):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    Account.objects.filter(pk=teacher.pk).update(
        password_changed_at=timezone.now() - timedelta(days=91)
    )
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    relying_party = RelyingParty(granted, client)
    error_back_at_the_station(
        relying_party.authorize(prompt="none"), relying_party, "interaction_required"
    )
    interactive = relying_party.authorize()
    assert interactive["Location"].startswith("/me/password/?next=%2Fo%2Fauthorize%2F")


def test_prompt_none_beside_another_value_is_invalid_request(teacher_in, granted):
    relying_party = RelyingParty(granted, teacher_in)
    response = relying_party.authorize(prompt="none login")
    error_back_at_the_station(response, relying_party, "invalid_request")


# --- 4. prompt=consent asks even with consent on file ------------------------------------


def test_prompt_consent_shows_the_consent_page_even_with_consent_on_file(
    teacher_in, teacher, granted
):
    relying_party = RelyingParty(granted, teacher_in)
    next_url = relying_party.authorize_url(prompt="consent")
    response = relying_party.authorize(prompt="consent")
    assert response["Location"].startswith("/stations/stats/?next=")
    page = teacher_in.get(response["Location"]).content.decode()
    assert 'name="decision" value="allow"' in page
    allowed = teacher_in.post("/stations/stats/consent/", {"decision": "allow", "next": next_url})
    assert allowed["Location"] == next_url
    relying_party.code_from(teacher_in.get(next_url))
    assert Consent.objects.filter(account=teacher, station=granted).count() == 2


# --- 5. POST, and the consent answer's CSRF check ----------------------------------------


def test_the_authorization_endpoint_accepts_a_form_post_from_the_stations_page(teacher_in, granted):
    browser = Client(enforce_csrf_checks=True)  # a form on the station's site has no token
    browser.cookies = teacher_in.cookies
    relying_party = RelyingParty(granted, browser)
    posted = browser.post("/o/authorize/", relying_party.params())
    assert posted.status_code == 303
    assert posted["Location"].startswith("/o/authorize/?")
    relying_party.code_from(browser.get(posted["Location"]))


def test_the_consent_answer_keeps_its_csrf_check(teacher_in, teacher, station):
    grant_station(account=teacher, station=station, actor=None)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies = teacher_in.cookies
    forged = browser.post("/stations/stats/consent/", {"decision": "allow"})
    assert forged.status_code == 403
    assert not Consent.objects.exists()


# --- 6. redirect_uri required, matched exactly ------------------------------------------


def test_a_request_without_redirect_uri_is_refused_on_a_portal_page(teacher_in, granted):
    response = RelyingParty(granted, teacher_in).authorize(redirect_uri=None)
    assert response.status_code == 400
    assert "Location" not in response
    assert "登入要求有誤" in response.content.decode()


@pytest.mark.parametrize(
    "asked",
    [
        "http://127.0.0.1:9999/callback",  # another loopback port
        "http://127.0.0.1:8765/callback/",
        "http://127.0.0.1:8765/callback?x=1",
        "http://localhost:8765/callback",
    ],
)
def test_a_redirect_uri_must_be_the_registered_one_character_for_character(
    teacher_in, teacher, asked
):
    station = make_station(redirect_uris="http://127.0.0.1:8765/callback")
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    response = RelyingParty(station, teacher_in, redirect_uri=asked).authorize()
    assert response.status_code == 400
    assert "Location" not in response
    exact = RelyingParty(station, teacher_in, redirect_uri="http://127.0.0.1:8765/callback")
    exact.code_from(exact.authorize())


# --- 7. iss on every authorization response ----------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
    ],
)
def test_errors_found_by_the_library_carry_iss_too(teacher_in, granted, overrides, error):
    relying_party = RelyingParty(granted, teacher_in)
    error_back_at_the_station(relying_party.authorize(**overrides), relying_party, error)


def test_a_guests_prompt_none_carries_iss(client, granted):
    relying_party = RelyingParty(granted, client)
    error_back_at_the_station(
        relying_party.authorize(prompt="none"), relying_party, "login_required"
    )


# --- 8. PKCE values that RFC 7636 does not allow -----------------------------------------


@pytest.mark.parametrize(
    "challenge",
    ["too-short", "A" * 44, "A" * 42 + "=", "A" * 42 + "+"],
)
def test_a_malformed_code_challenge_is_refused(teacher_in, granted, challenge):
    relying_party = RelyingParty(granted, teacher_in)
    response = relying_party.authorize(code_challenge=challenge)
    query = error_back_at_the_station(response, relying_party, "invalid_request")
    assert "code_challenge" in query["error_description"]


def test_the_plain_method_is_refused(teacher_in, granted):
    relying_party = RelyingParty(granted, teacher_in)
    response = relying_party.authorize(
        code_challenge=relying_party.verifier, code_challenge_method="plain"
    )
    error_back_at_the_station(response, relying_party, "invalid_request")


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + " ", "a" * 42 + "é"],
)
def test_a_code_verifier_outside_rfc_7636_is_refused_even_when_it_matches(
    teacher_in, granted, verifier
):
    relying_party = RelyingParty(granted, teacher_in)
    relying_party.verifier = verifier  # the challenge is made from it: it matches
    code = relying_party.code_from(relying_party.authorize())
    response = relying_party.token(code)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert "RFC 7636" in response.json()["error_description"]

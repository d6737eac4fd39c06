"""Sign-out that reaches the stations (single logout): a station's sign-out ends the portal
session (OpenID Connect RP-Initiated Logout 1.0), and every ending of a portal session sends
each station that received tokens in it a signed logout token (Back-Channel Logout 1.0),
received here by a real HTTP server in a thread, checked against the JWKS."""

import os
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccountSession, SecurityEvent
from accounts.services.account_care import disable_account, reset_account
from accounts.sessions import end_session
from portal.celery import app as celery_app
from stations.backchannel import sweep_station_logouts
from stations.models import BackchannelLogout
from stations.services import give_consent, grant_station
from tests.conftest import GOOD_PASSWORD, OTHER_GOOD_PASSWORD, CommittingClient, sign_in
from tests.relying_party import (
    BACKCHANNEL_EVENT,
    SIGNED_OUT,
    Receiver,
    RelyingParty,
    make_station,
    query_of,
    userinfo,
    verified,
)

pytestmark = pytest.mark.django_db

ISSUER = "http://127.0.0.1:8000/o"


@pytest.fixture
def receivers():
    started = []

    def start(**kwargs):
        receiver = Receiver(**kwargs).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def station_with(receiver, teacher, slug="stats", **fields):
    """A station whose back-channel logout URI is the receiver (its redirect URI on the same
    scheme, host and port), granted and consented."""
    station = make_station(
        slug=slug,
        name=f"編報站 {slug}",
        redirect_uris=f"http://127.0.0.1:{receiver.port}/callback",
        backchannel_logout_uri=receiver.url,
        **fields,
    )
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    return station


def signed_in_browser(username="010300_teacher01", password=GOOD_PASSWORD):
    browser = CommittingClient()
    assert sign_in(browser, username, password).status_code == 302
    return browser


def signed_in(browser) -> bool:
    return browser.get("/me/").status_code == 200


def sign_on(station, browser):
    relying_party = RelyingParty(station, browser, redirect_uri=station.redirect_uris)
    tokens, claims = relying_party.sign_in()
    return relying_party, tokens, claims


def logout_claims(receiver, station) -> dict:
    """The one logout token the receiver got, verified as a station must (Back-Channel
    Logout 1.0 2.6): signature against the JWKS, typ, iss, aud, iat, exp, jti, events, and
    no nonce."""
    assert len(receiver.posts) == 1, receiver.posts
    post = receiver.posts[0]
    assert post["path"] == "/backchannel-logout"
    assert post["content_type"] == "application/x-www-form-urlencoded"
    claims = verified(post["form"]["logout_token"], typ="logout+jwt")
    assert claims["iss"] == ISSUER
    assert claims["aud"] == station.client.client_id
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert claims["exp"] > claims["iat"] >= int(timezone.now().timestamp()) - 60
    assert claims["jti"]
    assert "nonce" not in claims
    return claims


# --- 12. RP-initiated logout -----------------------------------------------------------------


def test_a_station_sign_out_with_its_id_token_ends_the_portal_session(teacher):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    browser = signed_in_browser()
    relying_party = RelyingParty(station, browser)
    tokens, _claims = relying_party.sign_in()
    response = browser.get(
        relying_party.end_session_url(
            id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT, state="bye-1"
        )
    )
    assert response.status_code == 302
    assert response["Location"] == f"{SIGNED_OUT}?state=bye-1"
    assert not signed_in(browser)
    assert not AccountSession.objects.filter(account=teacher).exists()
    event = SecurityEvent.objects.get(kind="signed_out", account=teacher)
    assert event.detail == {"via": "station", "station": "stats"}
    assert userinfo(tokens["access_token"]).status_code == 401  # its tokens went with it


def test_an_expired_id_token_still_serves_as_the_hint(teacher):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    browser = signed_in_browser()
    tokens, _claims = RelyingParty(station, browser).sign_in()
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):  # ID tokens live 5
        response = browser.get(
            f"/o/logout/?id_token_hint={tokens['id_token']}&post_logout_redirect_uri={SIGNED_OUT}"
        )
        assert response["Location"] == SIGNED_OUT
        assert not signed_in(browser)


def test_without_a_hint_the_person_is_asked_first(teacher):
    station = make_station()
    browser = signed_in_browser()
    url = RelyingParty(station, browser).end_session_url(
        client_id=station.client.client_id, post_logout_redirect_uri=SIGNED_OUT, state="s"
    )
    page = browser.get(url)
    assert page.status_code == 200
    assert "也要登出整合平臺嗎" in page.content.decode()
    assert signed_in(browser)  # a link alone signs nobody out
    stay = browser.post("/o/logout/confirm/", {"decision": "stay"})
    assert stay["Location"] == f"{SIGNED_OUT}?state=s"
    assert signed_in(browser)
    browser.get(url)
    leave = browser.post("/o/logout/confirm/", {"decision": "sign_out"})
    assert leave["Location"] == f"{SIGNED_OUT}?state=s"
    assert not signed_in(browser)


def test_a_hint_from_another_session_or_a_forged_one_asks_first(teacher):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    earlier = signed_in_browser()
    tokens, _claims = RelyingParty(station, earlier).sign_in()
    now = signed_in_browser()
    page = now.get(f"/o/logout/?id_token_hint={tokens['id_token']}")
    assert "也要登出整合平臺嗎" in page.content.decode()
    header, payload, signature = tokens["id_token"].split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    page = earlier.get(f"/o/logout/?id_token_hint={forged}&post_logout_redirect_uri={SIGNED_OUT}")
    assert page.status_code == 200 and "也要登出整合平臺嗎" in page.content.decode()
    assert signed_in(now) and signed_in(earlier)
    # Unverified, it names no station either: the address is not followed after the answer.
    leave = earlier.post("/o/logout/confirm/", {"decision": "sign_out"})
    assert leave.status_code == 200 and "Location" not in leave
    assert not signed_in(earlier)


@pytest.mark.parametrize(
    "asked",
    [
        f"{SIGNED_OUT}/",
        f"{SIGNED_OUT}?next=1",
        "https://stats.example.tw:444/signed-out",
        "https://evil.example/signed-out",
    ],
)
def test_only_a_registered_post_logout_redirect_uri_is_followed(teacher, asked):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    browser = signed_in_browser()
    tokens, _claims = RelyingParty(station, browser).sign_in()
    response = browser.get(
        RelyingParty(station, browser).end_session_url(
            id_token_hint=tokens["id_token"], post_logout_redirect_uri=asked, state="s"
        )
    )
    assert response.status_code == 200 and "Location" not in response
    assert "未登記" in response.content.decode()
    assert not signed_in(browser)  # the hint was good: the session ended all the same


def test_a_station_may_post_its_logout_request_and_the_confirmation_keeps_csrf(teacher):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    signed = signed_in_browser()
    tokens, _claims = RelyingParty(station, signed).sign_in()
    browser = Client(enforce_csrf_checks=True)  # the station's page posts without a token
    browser.cookies = signed.cookies
    posted = browser.post(
        "/o/logout/", {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT}
    )
    assert posted.status_code == 303
    assert browser.get(posted["Location"])["Location"] == SIGNED_OUT
    assert not signed_in(signed)
    other = signed_in_browser()
    forged = Client(enforce_csrf_checks=True)
    forged.cookies = other.cookies
    forged.get(f"/o/logout/?client_id={station.client.client_id}")
    assert forged.post("/o/logout/confirm/", {"decision": "sign_out"}).status_code == 403
    assert signed_in(other)


def test_a_guest_goes_straight_back_to_the_station(db):
    station = make_station()
    response = Client().get(
        f"/o/logout/?client_id={station.client.client_id}"
        f"&post_logout_redirect_uri={SIGNED_OUT}&state=s"
    )
    assert response["Location"] == f"{SIGNED_OUT}?state=s"


# --- 13. Back-channel logout -----------------------------------------------------------------


def test_a_portal_sign_out_sends_each_station_of_the_session_a_signed_logout_token(
    teacher, receivers
):
    first, second, elsewhere = receivers(), receivers(), receivers()
    stats, survey = station_with(first, teacher, "stats"), station_with(second, teacher, "survey")
    other = station_with(elsewhere, teacher, "other")
    browser = signed_in_browser()
    _rp, stats_tokens, stats_claims = sign_on(stats, browser)
    _rp, survey_tokens, survey_claims = sign_on(survey, browser)
    another_session = signed_in_browser()
    _rp, other_tokens, _claims = sign_on(other, another_session)
    sid = browser.session["sid"]
    assert stats_claims["sid"] == survey_claims["sid"] == sid

    assert browser.post("/logout/").status_code == 302

    for receiver, station in ((first, stats), (second, survey)):
        claims = logout_claims(receiver, station)
        assert claims["sid"] == sid
        assert claims["sub"] == str(teacher.pk)
    assert elsewhere.posts == []  # that station was signed in through another session
    assert userinfo(stats_tokens["access_token"]).status_code == 401
    assert userinfo(survey_tokens["access_token"]).status_code == 401
    refresh = RelyingParty(stats, browser, redirect_uri=stats.redirect_uris).refresh(
        stats_tokens["refresh_token"]
    )
    assert refresh.status_code == 400
    assert userinfo(other_tokens["access_token"]).status_code == 200
    sends = BackchannelLogout.objects.order_by("station__slug")
    assert [(s.station.slug, s.status, s.reason, s.attempts) for s in sends] == [
        ("stats", "sent", "signed_out", 1),
        ("survey", "sent", "signed_out", 1),
    ]


def test_a_code_not_yet_exchanged_dies_with_its_session(teacher, receivers):
    station = station_with(receivers(), teacher)
    browser = signed_in_browser()
    relying_party = RelyingParty(station, browser, redirect_uri=station.redirect_uris)
    code = relying_party.code_from(relying_party.authorize())
    browser.post("/logout/")
    assert relying_party.token(code).json()["error"] == "invalid_grant"


def end_by_idle_timeout(browser, teacher, settings):
    with time_machine.travel(timezone.now() + timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1)):
        browser.get("/me/")


def end_by_password_change_elsewhere(browser, teacher, settings):
    other = signed_in_browser()
    other.post(
        "/me/password/",
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": OTHER_GOOD_PASSWORD,
            "new_password2": OTHER_GOOD_PASSWORD,
        },
    )


def end_by_disabling(browser, teacher, settings):
    with TestCase.captureOnCommitCallbacks(execute=True):  # as its commit would
        disable_account(account=teacher, actor=None)


def end_by_helpdesk_reset(browser, teacher, settings):
    with TestCase.captureOnCommitCallbacks(execute=True):
        reset_account(account=teacher, actor=None)  # disables first


def end_from_the_session_list(browser, teacher, settings):
    with TestCase.captureOnCommitCallbacks(execute=True):
        end_session(teacher, sid=browser.session["sid"], reason="ended_by_person")


@pytest.mark.parametrize(
    ("end", "reason"),
    [
        (end_by_idle_timeout, "idle"),
        (end_by_password_change_elsewhere, "password_changed"),
        (end_by_disabling, "disabled"),
        (end_by_helpdesk_reset, "disabled"),
        (end_from_the_session_list, "ended_by_person"),
    ],
)
def test_every_way_a_session_ends_reaches_its_stations(teacher, receivers, settings, end, reason):
    receiver = receivers()
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    sid = browser.session["sid"]
    end(browser, teacher, settings)
    assert logout_claims(receiver, station)["sid"] == sid
    assert BackchannelLogout.objects.get().reason == reason


def test_a_station_that_is_down_gets_its_logout_token_later(teacher, receivers):
    receiver = Receiver()  # not listening yet: the station is down
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        browser.post("/logout/")
        send = BackchannelLogout.objects.get()
        assert (send.status, send.attempts) == ("queued", 1)
        assert "Connection refused" in send.last_error or "URLError" in send.last_error
        receiver.start()
        try:
            sweep_station_logouts()  # not due yet: nothing is sent early
            assert receiver.posts == []
            traveller.shift(timedelta(seconds=30) + timedelta(minutes=3))  # delay and grace
            assert sweep_station_logouts() == {"requeued": 1, "resent": 0}
        finally:
            receiver.stop()
    send.refresh_from_db()
    assert (send.status, send.attempts, send.last_error) == ("sent", 2, "")
    assert logout_claims(receiver, station)["jti"] == str(send.jti)


def test_a_station_that_refuses_the_token_is_not_pestered(teacher, receivers):
    receiver = receivers(status=400)
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    browser.post("/logout/")
    send = BackchannelLogout.objects.get()
    assert (send.status, send.attempts) == ("failed", 1)
    assert "HTTP 400" in send.last_error


def test_a_station_without_a_back_channel_uri_is_not_called_but_its_tokens_end(teacher):
    station = make_station()
    grant_station(account=teacher, station=station, actor=None)
    give_consent(account=teacher, station=station)
    browser = signed_in_browser()
    tokens, _claims = RelyingParty(station, browser).sign_in()
    browser.post("/logout/")
    assert not BackchannelLogout.objects.exists()
    assert userinfo(tokens["access_token"]).status_code == 401


def test_helpdesk_sees_the_logout_tokens_on_the_account_page(teacher, helpdesk, receivers):
    up, down = receivers(), Receiver()
    stats, survey = station_with(up, teacher, "stats"), station_with(down, teacher, "survey")
    browser = signed_in_browser()
    sign_on(stats, browser)
    sign_on(survey, browser)
    browser.post("/logout/")
    desk = signed_in_browser("helpdesk")
    page = desk.get(f"/admin/accounts/account/{teacher.pk}/change/")
    html = page.content.decode()
    assert "編報站登出通知" in html
    assert "編報站 stats" in html and "已送達" in html
    assert "編報站 survey" in html and "等待送出" in html and "URLError" in html
    with CaptureQueriesContext(connection) as two:
        desk.get(f"/admin/accounts/account/{teacher.pk}/change/")
    for _ in range(3):
        again = signed_in_browser()
        sign_on(stats, again)
        again.post("/logout/")
    with CaptureQueriesContext(connection) as five:
        desk.get(f"/admin/accounts/account/{teacher.pk}/change/")
    assert len(five) == len(two)


def test_the_sign_out_answer_is_the_same_whatever_the_stations_say(teacher, receivers):
    receiver = receivers(status=503)
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    response = browser.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert not signed_in(browser)
    assert query_of(response) == {}


# --- Registering the logout URIs --------------------------------------------------------------


def test_an_administrator_registers_the_logout_uris_on_the_station(client, db):
    from accounts.models import Account

    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    sign_in(client, "root", GOOD_PASSWORD)
    station = make_station()
    form = {
        "slug": "stats",
        "name": "公務統計報表",
        "entry_url": "https://stats.example.tw/",
        "redirect_uris": "https://stats.example.tw/callback",
        "post_logout_redirect_uris": "https://stats.example.tw/bye\nhttps://stats.example.tw/",
        "backchannel_logout_uri": "https://stats.example.tw/oidc/backchannel",
        "fields": ["username", "full_name"],
        "sides": ["school"],
        "order": 0,
        "is_active": "on",
    }
    url = f"/admin/stations/station/{station.pk}/change/"
    refused = client.post(
        url,
        {
            **form,
            "post_logout_redirect_uris": "stats.example.tw/bye",
            "backchannel_logout_uri": "https://elsewhere.example.tw/backchannel",
        },
    )
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "stats.example.tw/bye" in page and "須與某個回呼網址相同" in page
    station.refresh_from_db()
    assert station.backchannel_logout_uri == ""
    assert client.post(url, form).status_code == 302
    station.refresh_from_db()
    assert station.backchannel_logout_uri == "https://stats.example.tw/oidc/backchannel"
    assert station.post_logout_redirect_uri_list == [
        "https://stats.example.tw/bye",
        "https://stats.example.tw/",
    ]
    assert station.client.post_logout_redirect_uris.split() == station.post_logout_redirect_uri_list


# --- With the real stack: Redis and a live Celery worker ---------------------------------------

needs_a_live_worker = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: the live Celery worker tests need Redis (CI sets it)",
)


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@contextmanager
def live_worker():
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.live_services
@needs_a_live_worker
@pytest.mark.django_db(transaction=True)
def test_sign_out_answers_before_the_station_does(teacher, receivers):
    receiver = receivers()
    receiver.hold = True  # the station takes the token and does not answer until released
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    with live_worker():
        response = browser.post("/logout/")
        assert response.status_code == 302 and not signed_in(browser)
        send = BackchannelLogout.objects.get()
        # Nothing was tried in the request: no error recorded, no failed try.
        assert send.status in ("queued", "sending") and send.last_error == ""
        assert receiver.arrived.wait(30)  # the worker is at the station, which holds
        assert BackchannelLogout.objects.get().status == "sending"
        receiver.release.set()
        assert wait_for(lambda: BackchannelLogout.objects.get().status == "sent")
    send.refresh_from_db()
    assert send.attempts == 1
    assert logout_claims(receiver, station)["sid"] == send.sid


@pytest.mark.live_services
@needs_a_live_worker
@pytest.mark.django_db(transaction=True)
def test_a_live_worker_retries_until_the_station_is_back(teacher, settings):
    settings.BACKCHANNEL_LOGOUT_RETRY_DELAYS = (1, 1, 1, 1, 1)
    receiver = Receiver()  # down
    station = station_with(receiver, teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    try:
        with live_worker():
            browser.post("/logout/")
            assert wait_for(lambda: BackchannelLogout.objects.get().last_error != "")
            receiver.start()  # the station is back
            assert wait_for(lambda: BackchannelLogout.objects.get().status == "sent")
    finally:
        receiver.stop()
    send = BackchannelLogout.objects.get()
    assert send.attempts >= 2 and send.last_error == ""
    assert logout_claims(receiver, station)["jti"] == str(send.jti)


def test_old_sign_on_and_logout_records_are_cleared_and_recent_ones_kept(teacher, receivers):
    from stations.models import StationSignOn
    from stations.single_logout import clear_old_records

    station = station_with(receivers(), teacher)
    browser = signed_in_browser()
    sign_on(station, browser)
    browser.post("/logout/")
    assert clear_old_records() == {"sign_ons": 0, "logouts": 0}
    # Past any session's and refresh token's lifetime (and a day): the sign-on goes.
    assert clear_old_records(now=timezone.now() + timedelta(hours=37)) == {
        "sign_ons": 1,
        "logouts": 0,
    }
    assert clear_old_records(now=timezone.now() + timedelta(days=91)) == {
        "sign_ons": 0,
        "logouts": 1,
    }
    assert not StationSignOn.objects.exists() and not BackchannelLogout.objects.exists()

"""A sign-in is one session for as long as it lasts (issue 15/17's foundation): its row keeps
its sid, when and how it signed in, from where and with which browser, and when it was last
seen; every ending the portal sees is announced once, after commit, with its reason."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccountSession, SecurityEvent
from accounts.services.account_care import disable_account, reset_account
from accounts.sessions import end_session, end_sessions, end_this_session, session_ended
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    OTHER_GOOD_PASSWORD,
    CommittingClient,
    bind_two_factor,
    next_totp_code,
    sign_in,
)

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"


@pytest.fixture
def ended():
    heard = []

    def listen(sender, account, sid, reason, **kwargs):
        heard.append((account.username, sid, reason))

    session_ended.connect(listen)
    yield heard
    session_ended.disconnect(listen)


def browser(address="203.0.113.7"):
    return CommittingClient(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR=address)


def row_of(client) -> AccountSession:
    return AccountSession.objects.get(session_key=client.session.session_key)


def test_a_sign_in_keeps_when_how_and_from_where_on_its_session(teacher):
    client = browser()
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        assert sign_in(client, teacher.username, GOOD_PASSWORD).status_code == 302
        row = row_of(client)
        assert row.account == teacher
        assert len(row.sid) >= 32
        assert row.signed_in_at == moment and row.last_seen_at == moment
        assert row.signed_in_how == "password"
        assert row.ip_address == "203.0.113.7"
        assert row.user_agent == BROWSER


def test_a_second_factor_is_named_as_the_way_in(teacher):
    bind_two_factor(teacher)
    client = browser()
    client.post("/login/", {"username": teacher.username, "password": GOOD_PASSWORD, **CAPTCHA_OK})
    client.post(
        "/login/two-factor/", {"code": next_totp_code(teacher), "account": teacher.username}
    )
    assert row_of(client).signed_in_how == "totp"


def test_each_sign_in_is_a_session_of_its_own(teacher):
    first, second = browser(), browser("198.51.100.9")
    sign_in(first, teacher.username, GOOD_PASSWORD)
    sign_in(second, teacher.username, GOOD_PASSWORD)
    assert row_of(first).sid != row_of(second).sid


def test_last_seen_follows_the_requests_a_minute_at_a_time(teacher):
    client = browser()
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, teacher.username, GOOD_PASSWORD)
        traveller.shift(timedelta(seconds=30))
        client.get("/")
        assert row_of(client).last_seen_at == start  # written at most once a minute
        traveller.shift(timedelta(minutes=5))
        client.get("/")
        assert row_of(client).last_seen_at == start + timedelta(minutes=5, seconds=30)


def test_signing_out_ends_the_session_and_says_so_once(teacher, ended):
    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    sid = row_of(client).sid
    client.post("/logout/")
    assert not AccountSession.objects.filter(sid=sid).exists()
    assert ended == [(teacher.username, sid, "signed_out")]


def test_an_idle_session_seen_at_a_request_is_announced(teacher, ended, settings):
    client = browser()
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, teacher.username, GOOD_PASSWORD)
        sid = row_of(client).sid
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1))
        client.get("/me/")
    assert ended == [(teacher.username, sid, "idle")]


def test_a_password_change_keeps_this_session_and_its_sid_and_ends_the_others(teacher, ended):
    here, elsewhere = browser(), browser("198.51.100.9")
    sign_in(here, teacher.username, GOOD_PASSWORD)
    sign_in(elsewhere, teacher.username, GOOD_PASSWORD)
    here_sid, elsewhere_sid = row_of(here).sid, row_of(elsewhere).sid
    old_key = here.session.session_key

    response = here.post(
        "/me/password/",
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": OTHER_GOOD_PASSWORD,
            "new_password2": OTHER_GOOD_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert here.session.session_key != old_key  # rotated
    assert row_of(here).sid == here_sid  # the same sign-in goes on
    assert list(AccountSession.objects.filter(account=teacher).values_list("sid", flat=True)) == [
        here_sid
    ]
    assert ended == [(teacher.username, elsewhere_sid, "password_changed")]


def test_disabling_and_resetting_an_account_announce_each_of_its_sessions(
    teacher, holder, ended, django_capture_on_commit_callbacks
):
    sids = []
    for address in ("203.0.113.7", "198.51.100.9"):
        client = browser(address)
        sign_in(client, teacher.username, GOOD_PASSWORD)
        sids.append(row_of(client).sid)
    with django_capture_on_commit_callbacks(execute=True):
        disable_account(account=teacher, actor=holder)
    assert sorted(ended) == sorted((teacher.username, sid, "disabled") for sid in sids)
    assert not AccountSession.objects.filter(account=teacher).exists()

    ended.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reset_account(account=teacher, actor=None)
    assert ended == []  # nothing was left to end


def test_nothing_is_announced_when_the_ending_is_rolled_back(teacher, ended):
    from django.db import transaction

    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    with pytest.raises(RuntimeError), transaction.atomic():
        end_sessions(teacher, reason="disabled")
        raise RuntimeError("the disable failed after all")
    assert AccountSession.objects.filter(account=teacher).exists()
    assert ended == []


def test_one_session_ends_by_its_sid_and_no_other(
    teacher, ended, django_capture_on_commit_callbacks
):
    first, second = browser(), browser("198.51.100.9")
    sign_in(first, teacher.username, GOOD_PASSWORD)
    sign_in(second, teacher.username, GOOD_PASSWORD)
    sid = row_of(second).sid
    with django_capture_on_commit_callbacks(execute=True):
        assert end_session(teacher, sid=sid, reason="ended_by_person") is True
        assert end_session(teacher, sid=sid, reason="ended_by_person") is False
    assert ended == [(teacher.username, sid, "ended_by_person")]
    assert first.get("/me/").status_code == 200
    assert second.get("/me/")["Location"] == "/login/?next=/me/"


def test_signing_out_of_the_admin_is_the_portals_sign_out(helpdesk, ended):
    client = browser()
    sign_in(client, "helpdesk", GOOD_PASSWORD)
    sid = row_of(client).sid
    response = client.post("/admin/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert ended == [("helpdesk", sid, "signed_out")]
    assert SecurityEvent.objects.filter(kind="signed_out", account=helpdesk).count() == 1


def test_signing_in_over_another_accounts_session_ends_that_one(teacher, holder, ended):
    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    teachers_sid = row_of(client).sid
    sign_in(client, holder.username, GOOD_PASSWORD)
    assert ended == [(teacher.username, teachers_sid, "signed_in_again")]
    assert row_of(client).account == holder and row_of(client).sid != teachers_sid


def test_signing_in_again_over_ones_own_session_keeps_it(teacher, ended):
    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    sid = row_of(client).sid
    sign_in(client, teacher.username, GOOD_PASSWORD)
    assert row_of(client).sid == sid
    assert ended == []


def test_a_session_ended_by_another_request_first_is_announced_by_that_one_only(
    teacher, holder, ended, rf, django_capture_on_commit_callbacks
):
    from django.contrib.sessions.middleware import SessionMiddleware

    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    sid, key = row_of(client).sid, client.session.session_key
    request = rf.get("/")
    SessionMiddleware(lambda request: None).process_request(request)
    request.COOKIES["sessionid"] = key
    request.session = type(client.session)(key)
    request.user = teacher
    with django_capture_on_commit_callbacks(execute=True):
        disable_account(account=teacher, actor=holder)  # deletes the row first (announced)
        end_this_session(request, reason="idle")  # the same session, seen a moment later
    assert ended == [(teacher.username, sid, "disabled")]


def test_a_failing_listener_neither_breaks_the_request_nor_silences_the_others(teacher, ended):
    def broken(**kwargs):
        raise RuntimeError("a station's logout could not be queued")

    session_ended.connect(broken, dispatch_uid="broken")
    try:
        here, elsewhere = browser(), browser("198.51.100.9")
        sign_in(here, teacher.username, GOOD_PASSWORD)
        sign_in(elsewhere, teacher.username, GOOD_PASSWORD)
        response = here.post(
            "/me/password/",
            {
                "old_password": GOOD_PASSWORD,
                "new_password1": OTHER_GOOD_PASSWORD,
                "new_password2": OTHER_GOOD_PASSWORD,
            },
        )
    finally:
        session_ended.disconnect(dispatch_uid="broken")
    assert response.status_code == 302
    assert len(ended) == 1 and ended[0][2] == "password_changed"


def test_resetting_a_forgotten_password_while_signed_in_signs_out_cleanly(teacher, ended):
    from django.core import mail

    from tests.test_forgot_password import ask, code_in, reset

    client = browser()
    sign_in(client, teacher.username, GOOD_PASSWORD)
    sid = row_of(client).sid
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    response = reset(client, code, password=OTHER_GOOD_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session
    assert "密碼已重設" in client.get("/login/").content.decode()
    assert ended == [(teacher.username, sid, "password_reset")]

"""The absolute session lifetime (issue 13): however active, a signed-in session ends
SESSION_ABSOLUTE_HOURS (12 by default) after its sign-in, and the person is sent to the login
page with a message. Time is frozen relative to now and every check is made inside it."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccountSession, SecurityEvent
from tests.conftest import GOOD_PASSWORD, CommittingClient, sign_in

pytestmark = pytest.mark.django_db

GREETING = "王小明您好"
STEP = timedelta(minutes=20)  # busy: a request every 20 minutes, well within the idle limit


def stay_active(client, traveller, start, until):
    """A request every 20 minutes from ``start`` to ``until``; each still signed in."""
    while timezone.now() + STEP <= until:
        traveller.shift(STEP)
        assert GREETING in client.get("/").content.decode(), timezone.now() - start


def test_an_active_session_ends_twelve_hours_after_its_sign_in(client, holder):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "010300_admin01", GOOD_PASSWORD)
        stay_active(client, traveller, start, start + timedelta(hours=11, minutes=59))
        traveller.move_to(start + timedelta(hours=12, minutes=1))

        response = client.get("/me/")

        assert response.status_code == 302
        assert response["Location"] == "/login/?next=%2Fme%2F"
        page = client.get(response["Location"]).content.decode()
        assert "您已登入超過 12 小時，為了安全，系統已自動登出，請重新登入。" in page
        assert "_auth_user_id" not in client.session
        assert GREETING not in client.get("/").content.decode()
        event = SecurityEvent.objects.get(kind="session_expired", account=holder)
        assert event.detail == {"reason": "absolute"}


def test_the_lifetime_is_a_setting(client, holder, settings):
    settings.SESSION_ABSOLUTE_HOURS = 2
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "010300_admin01", GOOD_PASSWORD)
        stay_active(client, traveller, start, start + timedelta(hours=1, minutes=59))
        traveller.move_to(start + timedelta(hours=2, minutes=1))

        response = client.get("/")

        assert response["Location"] == "/login/"
        assert "已登入超過 2 小時" in client.get("/login/").content.decode()


def test_signing_in_again_starts_a_new_lifetime(client, holder):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "010300_admin01", GOOD_PASSWORD)
        stay_active(client, traveller, start, start + timedelta(hours=12))
        traveller.shift(timedelta(minutes=5))
        assert client.get("/me/").status_code == 302
        sign_in(client, "010300_admin01", GOOD_PASSWORD)

        traveller.shift(timedelta(minutes=5))

        assert GREETING in client.get("/").content.decode()


def test_beat_clears_expired_sessions_and_keeps_the_live_ones(holder, teacher, settings):
    from accounts import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["clear-sessions"]
    assert entry["task"] == tasks.clear_expired_sessions.name
    now = timezone.now()
    abandoned = CommittingClient()
    with time_machine.travel(now - timedelta(hours=13), tick=False):
        sign_in(abandoned, "010300_admin01", GOOD_PASSWORD)  # never signed out
    with time_machine.travel(now, tick=False):
        live = CommittingClient()
        sign_in(live, "010300_teacher01", GOOD_PASSWORD)
        assert AccountSession.objects.count() == 2

        assert tasks.clear_expired_sessions.delay().get() == 1

        assert list(AccountSession.objects.values_list("account__username", flat=True)) == [
            "010300_teacher01"
        ]
        assert "林志明您好" in live.get("/").content.decode()

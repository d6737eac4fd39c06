"""The holder's consent overview (issue 16, point 10): each person's state in words;
pending accounts get no reminder (the page says so, and how many); a reminder at most once a
day per person and station; the holder never reminds themself; when each was last
reminded."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from schools.models import ConsentReminder
from stations.models import Station
from stations.services import give_consent, grant_station
from tests.conftest import GOOD_PASSWORD, CommittingClient, make_account, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def stats(db):
    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    return station


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def people(holder, teacher, stats):
    """Granted the station: the holder, a teacher who consented, one who has not, one who
    has no password yet, and one who left."""
    late = make_account(holder.unit, "teacher02", full_name="黃淑芬", email="late@school.edu.tw")
    pending = make_account(holder.unit, "newbie", full_name="陳小華", email="new@school.edu.tw")
    Account.objects.filter(pk=pending.pk).update(state=Account.State.PENDING)
    gone = make_account(holder.unit, "left01", full_name="李四", email="gone@school.edu.tw")
    Account.objects.filter(pk=gone.pk).update(state=Account.State.DISABLED)
    for account in (holder, teacher, late, pending, gone):
        grant_station(account=account, station=stats, actor=holder)
    give_consent(account=teacher, station=stats)
    mail.outbox.clear()
    return {"late": late, "pending": pending, "gone": gone}


def row(page, username):
    start = page.index(f">{username}</td>")
    return page[start : page.index("</tr>", start)]


def remind(client):
    return client.post("/manage/stations/", {"station": "stats"}, follow=True)


def holder_now():
    """The holder signed in at this (travelled-to) moment: sessions end after 12 hours."""
    client = CommittingClient()
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


def test_each_persons_state_is_said_in_words(holder_in, people):
    page = holder_in.get("/manage/stations/").content.decode()

    assert "已同意（" in row(page, "010300_teacher01")
    assert "尚未同意" in row(page, "010300_teacher02")
    assert "（可以寄提醒）" in row(page, "010300_teacher02")
    assert "待開通" in row(page, "010300_newbie")
    assert "（還沒設定密碼，不會收到提醒）" in row(page, "010300_newbie")
    assert "已停用" in row(page, "010300_left01")
    assert "這是您本人，不會寄提醒給自己" in row(page, "010300_admin01")
    assert "…" not in page


def test_the_page_says_how_many_pending_accounts_get_no_reminder(holder_in, people):
    page = holder_in.get("/manage/stations/").content.decode()

    assert "待開通的 1 位還沒設定密碼，無法登入，所以不會收到提醒" in page
    assert "寄提醒信給尚未同意的 1 位" in page


def test_reminders_go_only_to_active_people_who_have_not_consented_never_the_holder(
    holder_in, holder, people
):
    response = remind(holder_in)

    assert [message.to for message in mail.outbox] == [["late@school.edu.tw"]]
    page = response.content.decode()
    assert "已寄出 1 封提醒信（公務統計報表）" in page
    assert "待開通的 1 位還沒設定密碼，不會收到提醒" in page
    assert list(ConsentReminder.objects.values_list("account__username", flat=True)) == [
        "010300_teacher02"
    ]
    event = SecurityEvent.objects.get(kind="station_reminder_sent")
    assert event.detail["recipients"] == ["010300_teacher02"]
    assert event.detail["skipped_pending"] == 1


def test_a_person_is_reminded_at_most_once_a_day_per_station(holder_in, people):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        remind(holder_in)
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        response = remind(holder_now())

        assert len(mail.outbox) == 1
        page = response.content.decode()
        assert "已寄出 0 封提醒信" in page
        assert "1 位在 24 小時內已提醒過，這次沒有再寄" in page
        assert "目前沒有可以寄提醒的人" in page
    with time_machine.travel(start + timedelta(hours=24, minutes=1), tick=False):
        remind(holder_now())

        assert len(mail.outbox) == 2


def test_the_page_shows_when_each_was_last_reminded(holder_in, people):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        remind(holder_in)
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        page = holder_now().get("/manage/stations/").content.decode()

        when = timezone.localtime(start).strftime("%Y-%m-%d %H:%M")
        assert when in row(page, "010300_teacher02")
        again = timezone.localtime(start + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
        assert f"已提醒，{again} 後才能再提醒" in row(page, "010300_teacher02")
        assert "未曾提醒" in row(page, "010300_newbie")


def test_the_overview_costs_the_same_queries_with_reminders(holder_in, holder, stats):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            holder_in.get("/manage/stations/")
        return len(captured)

    grant_station(account=make_account(holder.unit, "t0"), station=stats, actor=holder)
    remind(holder_in)
    few = queries()
    for n in range(1, 15):
        grant_station(account=make_account(holder.unit, f"t{n}"), station=stats, actor=holder)
    remind(holder_in)  # the new ones are reminded too
    assert ConsentReminder.objects.count() == 15
    assert queries() == few

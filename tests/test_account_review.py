"""The yearly account review (issue 18, seed 002: 系統帳號應定期審核): helpdesk opens it for a
side; each holder confirms (仍在職) or disables every active sub-account on /manage/review/,
one by one or in bulk; reminders go out a week before the deadline and on the last day;
after it, what nobody confirmed is disabled, once, with a mail to the person and the holder.
Helpdesk follows each unit and extends a unit's deadline. Times are frozen relative to now."""

from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone

from accounts.models import Account, SecurityEvent
from schools.models import AccountReview, ReviewDecision, Unit, UnitReview
from schools.services.review_cycle import (
    close_overdue_reviews,
    default_review_dates,
    open_review,
    send_review_reminders,
)
from stations.models import Station
from stations.services import grant_station
from tests.conftest import GOOD_PASSWORD, CommittingClient, make_account, sign_in

pytestmark = pytest.mark.django_db

DEADLINE_IN = 10  # days from now


def at(days, hour=10):
    """A moment ``days`` from today at ``hour`` o'clock in Taipei."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(timezone.datetime(day.year, day.month, day.day, hour))


def signed_in(username):
    client = CommittingClient()
    assert sign_in(client, username, GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def staff(school, holder, teacher, other_holder):
    """Before the review: two teachers of 010300 besides the holder, one with a station; a
    pending account and a teacher of the other school."""
    stats = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    stats.save()
    grant_station(account=teacher, station=stats, actor=holder)
    second = make_account(school, "teacher02", full_name="黃淑芬")
    pending = make_account(school, "pending01", password=None)
    Account.objects.filter(pk=pending.pk).update(state=Account.State.PENDING)
    make_account(other_holder.unit, "teacher09", full_name="陳建宏")
    Account.objects.update(date_joined=timezone.now() - timedelta(days=400))
    return {"teacher": teacher, "second": second}


@pytest.fixture
def review(staff, helpdesk):
    today = timezone.localdate()
    return open_review(
        side=Unit.Side.SCHOOL,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=DEADLINE_IN),
        actor=helpdesk,
    )


# --- Opening a review (helpdesk, in the admin) ------------------------------------------------


def test_the_default_review_runs_30_days_from_the_first_of_august():
    assert default_review_dates(date(2031, 3, 2)) == (date(2031, 8, 1), date(2031, 8, 30))
    assert default_review_dates(date(2031, 8, 20)) == (date(2031, 8, 1), date(2031, 8, 30))
    assert default_review_dates(date(2031, 9, 1)) == (date(2032, 8, 1), date(2032, 8, 30))


def test_helpdesk_opens_a_review_for_a_side_in_the_admin(staff, helpdesk, agency):
    desk = signed_in("helpdesk")
    form = desk.get("/admin/schools/accountreview/add/").content.decode()
    starts, ends = default_review_dates()
    for day in (starts, ends):
        assert f'value="{formats.localize_input(day)}"' in form
    today = timezone.localdate()
    dates = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=29)).isoformat()}
    response = desk.post("/admin/schools/accountreview/add/", {"side": "school", **dates})
    assert response.status_code == 302
    review = AccountReview.objects.get()
    assert (review.side, review.opened_by) == ("school", helpdesk)
    assert set(UnitReview.objects.values_list("unit__code", flat=True)) == {"010300", "010301"}
    assert SecurityEvent.objects.filter(kind="account_review_opened", actor=helpdesk).exists()
    again = desk.post("/admin/schools/accountreview/add/", {"side": "school", **dates})
    assert again.status_code == 200
    assert "這一類別已有進行中的帳號審核" in again.content.decode()
    backwards = {"side": "admin", "starts_on": dates["ends_on"], "ends_on": dates["starts_on"]}
    refused = desk.post("/admin/schools/accountreview/add/", backwards).content.decode()
    assert "截止日期不能早於開始日期" in refused
    assert AccountReview.objects.count() == 1


def test_a_holder_cannot_open_a_review(staff, holder):
    assert signed_in("010300_admin01").get("/admin/schools/accountreview/add/").status_code in (
        302,
        403,
    )


# --- The holder's page ------------------------------------------------------------------------


def test_who_may_open_the_review_page(client, review, teacher):
    assert client.get("/manage/review/")["Location"].startswith("/login/?next=")
    assert signed_in("010300_teacher01").get("/manage/review/").status_code == 403


def test_without_a_review_the_page_says_so(staff, client):
    page = signed_in("010300_admin01").get("/manage/review/").content.decode()
    assert "目前沒有進行中的帳號年度審核" in page


def test_the_page_lists_every_active_sub_account_with_its_stations_and_the_progress(review):
    holder_in = signed_in("010300_admin01")
    page = holder_in.get("/manage/review/").content.decode()
    assert "已確認 0 / 2" in page
    assert "010300_teacher01" in page and "010300_teacher02" in page and "公務統計報表" in page
    for absent in ("010300_admin01", "010300_pending01", "010301_teacher09"):
        assert absent not in page
    assert "帳號年度審核：已確認 0 / 2" in holder_in.get("/").content.decode()


def test_an_account_made_after_the_review_began_is_not_in_it(review, school):
    make_account(school, "newcomer")
    page = signed_in("010300_admin01").get("/manage/review/").content.decode()
    assert "010300_newcomer" not in page and "已確認 0 / 2" in page


def test_the_holder_confirms_one_by_one_or_several_at_once(review, holder, staff):
    holder_in = signed_in("010300_admin01")
    response = holder_in.post(
        "/manage/review/", {"accounts": ["010300_teacher01"], "action": "confirm"}, follow=True
    )
    page = response.content.decode()
    assert "已確認 1 位仍在職：010300_teacher01" in page and "已確認 1 / 2" in page
    holder_in.post(
        "/manage/review/",
        {"accounts": ["010300_teacher01", "010300_teacher02"], "action": "confirm"},
    )
    assert set(ReviewDecision.objects.values_list("account__local_part", "decision")) == {
        ("teacher01", "confirmed"),
        ("teacher02", "confirmed"),
    }
    events = SecurityEvent.objects.filter(kind="account_review_confirmed", actor=holder)
    assert events.count() == 2  # one each; confirming again is refused, not recorded
    page = holder_in.get("/manage/review/").content.decode()
    assert "已確認 2 / 2" in page and "貴單位的子帳號都已確認完畢" in page


def test_disabling_in_the_review_disables_the_account_and_counts_as_done(review, holder, staff):
    holder_in = signed_in("010300_admin01")
    holder_in.post("/manage/review/", {"accounts": ["010300_teacher02"], "action": "disable"})
    staff["second"].refresh_from_db()
    assert staff["second"].state == Account.State.DISABLED
    event = SecurityEvent.objects.get(kind="account_disabled", account=staff["second"])
    assert event.actor == holder and event.detail["reason"] == "account_review"
    assert "已確認 1 / 2" in holder_in.get("/manage/review/").content.decode()


def test_another_units_account_or_nobody_is_refused_and_left_alone(review, staff):
    holder_in = signed_in("010300_admin01")
    page = holder_in.post(
        "/manage/review/",
        {"accounts": ["010301_teacher09", "010300_admin01", "nobody"], "action": "disable"},
        follow=True,
    ).content.decode()
    assert "3 個帳號沒有處理（不在這次審核的名單中）" in page
    assert Account.objects.get(username="010301_teacher09").state == Account.State.ACTIVE
    assert not ReviewDecision.objects.exists()


def test_bad_input_comes_back_with_a_message(review):
    holder_in = signed_in("010300_admin01")
    nothing = holder_in.post("/manage/review/", {"action": "confirm"})
    assert nothing.status_code == 200 and "請先勾選帳號" in nothing.content.decode()
    odd = holder_in.post("/manage/review/", {"accounts": ["010300_teacher01"], "action": "x"})
    assert odd.status_code == 200 and "請選擇要做的事" in odd.content.decode()
    assert not ReviewDecision.objects.exists()


def test_the_review_page_costs_the_same_queries_for_few_or_many(review, school, holder, staff):
    holder_in = signed_in("010300_admin01")
    holder_in.get("/manage/review/")
    with CaptureQueriesContext(connection) as few:
        holder_in.get("/manage/review/")
    stats = Station.objects.get(slug="stats")
    for index in range(20):
        grant_station(account=make_account(school, f"t{index:02d}"), station=stats, actor=holder)
    Account.objects.update(date_joined=timezone.now() - timedelta(days=400))
    with CaptureQueriesContext(connection) as many:
        page = holder_in.get("/manage/review/").content.decode()
    assert "已確認 0 / 22" in page
    assert len(many) == len(few)


# --- Reminders and the end (Celery beat) -----------------------------------------------------


def committed(service):
    """Run a beat service as its task would: its mail leaves when its transactions commit."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return service()


def test_holders_who_have_not_finished_are_reminded_a_week_before_and_on_the_last_day(
    review, holder, other_holder
):
    # the other school finishes: no reminder for its holder
    other_in = signed_in("010301_principal")
    other_in.post("/manage/review/", {"accounts": ["010301_teacher09"], "action": "confirm"})
    mail.outbox.clear()
    with time_machine.travel(at(DEADLINE_IN - 8), tick=False):
        assert committed(send_review_reminders) == 0
    with time_machine.travel(at(DEADLINE_IN - 7), tick=False):
        assert committed(send_review_reminders) == 1
        assert committed(send_review_reminders) == 0  # beat runs again: not twice
        [message] = mail.outbox
        assert message.to == [holder.email] and "一週內截止" in message.subject
        assert "已確認 0 / 2" in message.body and "/manage/review/" in message.body
    with time_machine.travel(at(DEADLINE_IN - 1), tick=False):
        assert committed(send_review_reminders) == 0
    with time_machine.travel(at(DEADLINE_IN, hour=8), tick=False):
        assert committed(send_review_reminders) == 1
        assert "今天是帳號年度審核的最後一天" in mail.outbox[-1].subject
    assert all(message.to == [holder.email] for message in mail.outbox)


def test_at_the_end_what_nobody_confirmed_is_disabled_once(review, holder, staff):
    signed_in("010300_admin01").post(
        "/manage/review/", {"accounts": ["010300_teacher01"], "action": "confirm"}
    )
    mail.outbox.clear()
    with time_machine.travel(at(DEADLINE_IN, hour=23), tick=False):
        assert committed(close_overdue_reviews) == 0  # the last day is not over
    with time_machine.travel(at(DEADLINE_IN + 1, hour=0), tick=False):
        assert committed(close_overdue_reviews) == 2  # teacher02, and 010301's teacher09
        second, teacher = staff["second"], staff["teacher"]
        second.refresh_from_db()
        teacher.refresh_from_db()
        assert (second.state, teacher.state) == ("disabled", "active")
        event = SecurityEvent.objects.get(kind="account_disabled", account=second)
        assert event.actor is None and event.detail["reason"] == "account_review_expired"
        to_person = [m for m in mail.outbox if m.to == [second.email]]
        to_holder = [m for m in mail.outbox if m.to == [holder.email]]
        assert len(to_person) == 1 and "年度審核未確認而停用" in to_person[0].subject
        assert len(to_holder) == 1 and "010300_teacher02 黃淑芬" in to_holder[0].body
        sent = len(mail.outbox)
        assert committed(close_overdue_reviews) == 0  # run twice: disabled once
        assert SecurityEvent.objects.filter(kind="account_disabled").count() == 2
        assert len(mail.outbox) == sent
        assert Account.objects.get(username="010301_teacher09").state == "disabled"
        assert AccountReview.objects.get().closed_at is not None
        page = signed_in("010300_admin01").get("/manage/review/").content.decode()
        assert "目前沒有進行中的帳號年度審核" in page


def test_the_beat_task_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["advance-account-reviews"]
    assert entry["task"] == "schools.tasks.advance_account_reviews"
    assert entry["schedule"] <= 3600


# --- Helpdesk follows each unit and extends a deadline -----------------------------------------


def test_helpdesk_sees_where_each_unit_stands_in_constant_queries(review, staff):
    signed_in("010300_admin01").post(
        "/manage/review/", {"accounts": ["010300_teacher01"], "action": "confirm"}
    )
    desk = signed_in("helpdesk")
    desk.get("/admin/schools/unitreview/")
    with CaptureQueriesContext(connection) as two_units:
        page = desk.get("/admin/schools/unitreview/").content.decode()
    assert "王小明" in page and "陳美玲" in page
    rows = {
        unit.unit.code: (unit.done, unit.left)
        for unit in page_rows(UnitReview.objects.filter(review=review))
    }
    assert rows == {"010300": (1, 1), "010301": (0, 1)}
    for index in range(5):
        Unit.objects.create(code=f"02030{index}", name=f"學校{index}")
        UnitReview.objects.create(
            review=review, unit=Unit.objects.get(code=f"02030{index}"), deadline=review.ends_on
        )
    with CaptureQueriesContext(connection) as seven_units:
        desk.get("/admin/schools/unitreview/")
    assert len(seven_units) == len(two_units)


def page_rows(queryset):
    from schools.services.account_review import with_progress

    return with_progress(queryset.select_related("unit"))


def test_helpdesk_extends_one_units_deadline_and_its_reminders_start_again(review, helpdesk):
    unit_review = UnitReview.objects.get(unit__code="010300")
    desk = signed_in("helpdesk")
    url = f"/admin/schools/unitreview/{unit_review.pk}/change/"
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    refused = desk.post(url, {"deadline": past})
    assert refused.status_code == 200 and "不能是過去的日期" in refused.content.decode()
    later = timezone.localdate() + timedelta(days=DEADLINE_IN + 14)
    assert desk.post(url, {"deadline": later.isoformat()}).status_code == 302
    unit_review.refresh_from_db()
    assert (unit_review.deadline, unit_review.extended_by) == (later, helpdesk)
    assert SecurityEvent.objects.filter(kind="account_review_extended", actor=helpdesk).exists()
    with time_machine.travel(at(DEADLINE_IN + 1), tick=False):
        assert committed(close_overdue_reviews) == 1  # the other school's teacher only
        assert Account.objects.get(username="010300_teacher01").state == "active"
        assert AccountReview.objects.get().closed_at is None  # 010300 is still at it
    with time_machine.travel(at(DEADLINE_IN + 14 - 7), tick=False):
        assert committed(send_review_reminders) == 1
    with time_machine.travel(at(DEADLINE_IN + 15), tick=False):
        assert committed(close_overdue_reviews) == 2
        assert AccountReview.objects.get().closed_at is not None


def test_a_teacher_cannot_reach_helpdesks_review_pages(review, teacher):
    teacher_in = signed_in("010300_teacher01")
    assert teacher_in.get("/admin/schools/unitreview/").status_code in (302, 403)

"""Bulk actions on the holder's list (issue 18, seed 003: 停用 for people who leave): POST
/manage/accounts/ with the checked ``accounts`` (or every account of the list's filter) and an
``action``: disable, enable, resend, grant or revoke a ``station``. One service call and one
security event per account; a summary of what was done and what was refused and why. Also
the list's words (issue 16): login names, badges, 尚未同意."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import Account, SecurityEvent
from stations.models import Station, StationGrant
from stations.services import give_consent, grant_station
from tests.conftest import GOOD_PASSWORD, CommittingClient, make_account, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder_in(holder):
    client = CommittingClient()
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def stats(db):
    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    return station


@pytest.fixture
def staff(school, teacher):
    second = make_account(school, "teacher02", full_name="黃淑芬")
    gone = make_account(school, "retired", full_name="李大同")
    Account.objects.filter(pk=gone.pk).update(state=Account.State.DISABLED)
    new = make_account(school, "newcomer", password=None, full_name="陳建宏")
    Account.objects.filter(pk=new.pk).update(state=Account.State.PENDING)
    return {"teacher": teacher, "second": second}


def bulk(client, accounts, action, query="", follow=True, **fields):
    return client.post(
        f"/manage/accounts/{query}",
        {"accounts": accounts, "action": action, **fields},
        follow=follow,
    )


def state_of(local_part):
    return Account.objects.get(username=f"010300_{local_part}").state


def test_a_guest_is_sent_to_sign_in_and_a_teacher_is_refused(client, staff):
    response = bulk(client, ["010300_teacher02"], "disable", follow=False)
    assert response["Location"].startswith("/login/?next=")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert bulk(client, ["010300_teacher02"], "disable", follow=False).status_code == 403
    assert state_of("teacher02") == "active"


def test_disabling_several_disables_each_with_its_own_event_and_says_what_was_refused(
    holder_in, holder, staff
):
    teachers_browser = Client()
    sign_in(teachers_browser, "010300_teacher02", GOOD_PASSWORD)
    page = bulk(
        holder_in, ["010300_teacher01", "010300_TEACHER02", "010300_retired"], "disable"
    ).content.decode()
    assert "已停用 2 個帳號：010300_teacher01、010300_teacher02" in page
    assert "1 個帳號沒有處理（已經是停用狀態）：010300_retired" in page
    assert (state_of("teacher01"), state_of("teacher02")) == ("disabled", "disabled")
    events = SecurityEvent.objects.filter(kind="account_disabled", actor=holder)
    assert sorted(events.values_list("account__local_part", flat=True)) == [
        "teacher01",
        "teacher02",
    ]
    assert "黃淑芬您好" not in teachers_browser.get("/").content.decode()


def test_enabling_and_resending_refuse_the_accounts_they_do_not_fit(holder_in, holder, staff):
    page = bulk(holder_in, ["010300_retired", "010300_teacher01"], "enable").content.decode()
    assert "已重新啟用 1 個帳號：010300_retired" in page
    assert "1 個帳號沒有處理（沒有停用，不需要重新啟用）：010300_teacher01" in page
    assert state_of("retired") == "active"
    page = bulk(holder_in, ["010300_newcomer", "010300_teacher01"], "resend").content.decode()
    assert "已補寄驗證信給 1 個帳號：010300_newcomer" in page
    assert "（只有尚未開通的帳號可以補寄驗證信。）：010300_teacher01" in page
    assert [message.to for message in mail.outbox] == [["newcomer@school.edu.tw"]]


def test_every_account_of_a_filter_and_never_the_holders_own(holder_in, holder, staff):
    page = bulk(holder_in, [], "disable", query="?state=active", scope="filter").content.decode()
    assert "已停用 2 個帳號：010300_teacher01、010300_teacher02" in page
    assert holder.__class__.objects.get(pk=holder.pk).state == "active"
    assert state_of("newcomer") == "pending"


def test_the_redirect_keeps_the_lists_filter(holder_in, staff):
    response = bulk(holder_in, ["010300_teacher01"], "disable", query="?q=teacher", follow=False)
    assert response["Location"] == "/manage/accounts/?q=teacher"


def test_granting_and_revoking_a_station(holder_in, holder, staff, stats):
    grant_station(account=staff["teacher"], station=stats, actor=holder)
    page = bulk(
        holder_in, ["010300_teacher01", "010300_teacher02"], "grant", station="stats"
    ).content.decode()
    assert "已授予 1 個帳號「公務統計報表」的權限：010300_teacher02" in page
    assert "（已經有這個編報站的權限）：010300_teacher01" in page
    assert StationGrant.objects.filter(station=stats).count() == 2
    page = bulk(
        holder_in, ["010300_teacher01", "010300_newcomer"], "revoke", station="stats"
    ).content.decode()
    assert "已移除 1 個帳號「公務統計報表」的權限：010300_teacher01" in page
    assert "（沒有這個編報站的權限）：010300_newcomer" in page
    assert list(StationGrant.objects.values_list("account__local_part", flat=True)) == ["teacher02"]
    assert SecurityEvent.objects.filter(kind="station_granted", actor=holder).count() == 2
    assert SecurityEvent.objects.filter(kind="station_revoked", actor=holder).count() == 1


def test_another_units_account_the_holders_own_and_nobody_are_refused(
    holder_in, holder, staff, other_holder
):
    make_account(other_holder.unit, "teacher09")
    page = bulk(
        holder_in, ["010301_teacher09", "010300_admin01", "010300_nobody"], "disable"
    ).content.decode()
    assert "2 個帳號沒有處理（找不到這個帳號，或不是貴單位的子帳號）" in page
    assert "010301_teacher09" in page and "010300_nobody" in page
    assert "1 個帳號沒有處理（這是您自己的帳號" in page
    assert not Account.objects.filter(state="disabled").exclude(local_part="retired").exists()
    assert not SecurityEvent.objects.filter(kind="account_disabled").exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "disable"}, "請先勾選帳號"),
        ({"accounts": ["010300_teacher01"]}, "請選擇要對勾選的帳號做什麼"),
        ({"accounts": ["010300_teacher01"], "action": "delete"}, "請選擇要對勾選的帳號做什麼"),
        ({"accounts": ["010300_teacher01"], "action": "grant"}, "請選擇編報站"),
        ({"accounts": ["010300_teacher01"], "action": "grant", "station": "x"}, "找不到這個編報站"),
    ],
)
def test_bad_input_comes_back_with_the_list_and_a_message(holder_in, staff, stats, fields, message):
    response = holder_in.post("/manage/accounts/", fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "010300_teacher02" in page  # the list, with the message
    if fields.get("accounts"):
        assert 'value="010300_teacher01" form="bulk-form" checked' in page
    assert state_of("teacher01") == "active"


# --- The list's words (issue 16) -------------------------------------------------------------


def test_the_list_says_尚未同意_in_words_and_marks_login_names_and_checkboxes(
    holder_in, holder, staff, stats
):
    grant_station(account=staff["teacher"], station=stats, actor=holder)
    grant_station(account=staff["second"], station=stats, actor=holder)
    give_consent(account=staff["second"], station=stats)
    page = holder_in.get("/manage/accounts/").content.decode()
    assert '公務統計報表 <span class="chip__note">尚未同意</span>' in page
    assert "公務統計報表 ✓ 已同意" in page
    assert " …</span>" not in page
    assert '<td class="login-name"><a href="/manage/accounts/010300_teacher01/">' in page
    assert 'name="accounts" value="010300_teacher01" form="bulk-form"' in page
    assert 'value="010300_admin01" form="bulk-form"' not in page  # not the holder's own


def test_the_stylesheet_keeps_underscores_visible_and_badges_on_one_line():
    css = (Path(settings.BASE_DIR) / "static/css/portal.css").read_text()
    assert ".login-name a { text-underline-offset: .3em;" in css
    assert ".badge, .state, .chip { white-space: nowrap; }" in css

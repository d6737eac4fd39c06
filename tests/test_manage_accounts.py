"""The main-account holder's sub-account pages (SPEC section 6): list, create, edit and its
buttons, export; every page tried by the other unit's holder (404), a teacher (403), a
guest (sign-in) and bad input."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, SecurityEvent
from stations.models import Station, StationGrant
from stations.services import give_consent, grant_station
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, link_token, make_account, sign_in

pytestmark = pytest.mark.django_db

NEW = {
    "local_part": "Teacher02",
    "full_name": "黃淑芬",
    "office": "學務處",
    "title": "生教組長",
    "phone": "049-2910960#3971",
    "email": "huang@school.edu.tw",
}


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def stats(db):
    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    return station


@pytest.mark.parametrize(
    "path",
    [
        "/manage/accounts/",
        "/manage/accounts/new/",
        "/manage/accounts/010300_teacher01/",
        "/manage/accounts/export.csv",
        "/manage/transfer/",
    ],
)
def test_a_guest_is_sent_to_sign_in_and_a_teacher_is_refused(client, teacher, path):
    assert client.get(path)["Location"].startswith("/login/?next=")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get(path).status_code == 403


def test_another_units_accounts_are_not_found(holder_in, other_holder):
    other = make_account(other_holder.unit, "teacher09")
    assert holder_in.get(f"/manage/accounts/{other.username}/").status_code == 404
    assert (
        holder_in.post(f"/manage/accounts/{other.username}/", {"action": "disable"}).status_code
        == 404
    )
    other.refresh_from_db()
    assert other.state == Account.State.ACTIVE


def test_the_list_shows_the_units_accounts_with_state_stations_and_consent(
    holder_in, holder, teacher, other_holder, stats
):
    grant_station(account=teacher, station=stats, actor=holder)
    give_consent(account=teacher, station=stats)
    page = holder_in.get("/manage/accounts/").content.decode()
    assert "010300_teacher01" in page and "林志明" in page
    assert "公務統計報表 ✓" in page
    assert "010301_principal" not in page


def test_the_list_shows_state_last_sign_in_in_taipei_time_and_a_link(holder_in, school):
    signed = make_account(school, "teacher02", full_name="黃淑芬")
    Account.objects.filter(pk=signed.pk).update(last_login=datetime(2026, 11, 20, 1, 5, tzinfo=UTC))
    gone = make_account(school, "teacher03", full_name="李大同")
    Account.objects.filter(pk=gone.pk).update(state=Account.State.DISABLED)
    page = holder_in.get("/manage/accounts/").content.decode()
    assert "2026-11-20 09:05" in page  # 01:05 UTC is 09:05 in Taipei
    assert "未曾登入" in page
    assert '<span class="state state--disabled">停用</span>' in page
    assert 'href="/manage/accounts/010300_teacher02/"' in page


def test_the_list_searches_and_filters(holder_in, holder, teacher, stats):
    late = make_account(holder.unit, "teacher02", full_name="黃淑芬", email="huang@school.edu.tw")
    late.state = Account.State.DISABLED
    late.save(update_fields=["state"])
    grant_station(account=teacher, station=stats, actor=holder)
    assert (
        "010300_teacher02"
        not in holder_in.get("/manage/accounts/", {"q": "林志明"}).content.decode()
    )
    assert (
        "010300_teacher02" in holder_in.get("/manage/accounts/", {"q": "HUANG@"}).content.decode()
    )
    disabled = holder_in.get("/manage/accounts/", {"state": "disabled"}).content.decode()
    assert "010300_teacher02" in disabled and "010300_teacher01" not in disabled
    granted = holder_in.get("/manage/accounts/", {"station": "stats"}).content.decode()
    assert "010300_teacher01" in granted and "010300_teacher02" not in granted


def test_the_list_finds_a_login_name_typed_in_capitals(holder_in, teacher):
    page = holder_in.get("/manage/accounts/", {"q": "010300_TEACHER"}).content.decode()
    assert "010300_teacher01" in page


def test_the_list_escapes_what_people_typed_and_marks_the_main_account(holder_in, school):
    make_account(school, "teacher05", full_name="<script>alert(1)</script>", office="A&B")
    page = holder_in.get("/manage/accounts/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A&amp;B／" in page
    assert '<a href="/me/">010300_admin01</a> <span class="badge">主帳號</span>' in page


def test_a_short_search_is_counted_without_a_second_pass(holder_in, holder, teacher):
    holder_in.get("/manage/accounts/", {"q": "teacher"})
    with CaptureQueriesContext(connection) as search:
        page = holder_in.get("/manage/accounts/", {"q": "teacher"}).content.decode()
    assert "010300_teacher01" in page
    counts = [query["sql"] for query in search if "COUNT(" in query["sql"].upper()]
    assert not [sql for sql in counts if '"accounts_account"' in sql]
    for index in range(55):
        make_account(holder.unit, f"t{index:02d}", password=None)
    long = holder_in.get("/manage/accounts/", {"q": "010300_t"}).content.decode()
    assert "第 1 / 2 頁（共 56 個帳號）" in long  # 55 + teacher01
    second = holder_in.get("/manage/accounts/", {"q": "010300_t", "page": 2}).content.decode()
    assert "010300_teacher01" in second


def test_the_list_is_paginated(holder_in, holder):
    for index in range(55):
        make_account(holder.unit, f"t{index:02d}", password=None)
    first = holder_in.get("/manage/accounts/").content.decode()
    assert "第 1 / 2 頁（共 56 個帳號）" in first
    second = holder_in.get("/manage/accounts/", {"page": 2}).content.decode()
    assert "010300_t54" in second
    assert holder_in.get("/manage/accounts/", {"page": "nonsense"}).status_code == 200


def test_the_list_costs_the_same_queries_for_few_or_many_accounts(holder_in, holder, stats):
    make_account(holder.unit, "t0")
    holder_in.get("/manage/accounts/")
    with CaptureQueriesContext(connection) as few:
        holder_in.get("/manage/accounts/")
    for index in range(1, 40):
        account = make_account(holder.unit, f"t{index}", password=None)
        grant_station(account=account, station=stats, actor=holder)
        if index % 3 == 0:
            give_consent(account=account, station=stats)
    with CaptureQueriesContext(connection) as many:
        holder_in.get("/manage/accounts/")
    assert len(many) == len(few)


def test_creating_a_sub_account_makes_it_pending_grants_stations_and_mails_it(
    holder_in, holder, stats
):
    response = holder_in.post(
        "/manage/accounts/new/", {**NEW, "stations": [stats.pk], **CAPTCHA_OK}
    )
    assert response["Location"] == "/manage/accounts/"
    account = Account.objects.get(username="010300_teacher02")
    assert account.state == Account.State.PENDING and account.role == Account.Role.SUB
    assert StationGrant.objects.get(account=account).granted_by == holder
    message = mail.outbox[-1]
    assert message.to == ["huang@school.edu.tw"]
    assert "註冊會員成功通知" in message.subject
    # the teacher sets a password from the mail and signs in
    token = link_token(message)
    teacher = Client()
    teacher.post(
        f"/ckverifycode/{token}/",
        {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD, **CAPTCHA_OK},
    )
    assert sign_in(teacher, "010300_teacher02", GOOD_PASSWORD).status_code == 302
    assert SecurityEvent.objects.filter(
        kind="account_created", account=account, actor=holder
    ).exists()


def test_the_create_page_shows_the_fixed_prefix(holder_in):
    assert "010300_" in holder_in.get("/manage/accounts/new/").content.decode()


@pytest.mark.parametrize(
    "local_part", ["a", "bad name", "中文", "x" * 31, "teacher01", "TEACHER01"]
)
def test_a_bad_or_taken_local_part_is_refused_and_nothing_is_lost(holder_in, teacher, local_part):
    page = holder_in.post(
        "/manage/accounts/new/", {**NEW, "local_part": local_part, **CAPTCHA_OK}
    ).content.decode()
    assert "field--error" in page
    assert 'value="黃淑芬"' in page  # the rest of what was typed stays
    assert Account.objects.count() == 2  # holder and teacher only


def test_a_disabled_persons_name_cannot_be_given_to_someone_else(holder_in, teacher):
    teacher.state = Account.State.DISABLED
    teacher.save(update_fields=["state"])
    page = holder_in.post(
        "/manage/accounts/new/", {**NEW, "local_part": "teacher01", **CAPTCHA_OK}
    ).content.decode()
    assert "已有人使用" in page


def test_every_missing_field_is_named_at_once(holder_in):
    page = holder_in.post("/manage/accounts/new/", {}).content.decode()
    for message in (
        "請輸入子帳號",
        "請輸入姓名",
        "請輸入處室名稱",
        "請輸入職稱",
        "請輸入電話",
        "請輸入信箱",
        "請輸入驗證碼",
    ):
        assert message in page


def test_editing_saves_the_profile_and_the_stations(holder_in, holder, teacher, stats):
    response = holder_in.post(
        "/manage/accounts/010300_teacher01/",
        {
            **NEW,
            "local_part": "",
            "full_name": "林志明",
            "office": "教務處",
            "stations": [stats.pk],
            "action": "save",
        },
    )
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.title == "生教組長"
    # An account in use keeps its address until the person confirms the new one
    # (tests/test_account_takeover.py).
    assert teacher.email == "teacher01@school.edu.tw"
    assert StationGrant.objects.filter(account=teacher, station=stats).exists()
    holder_in.post(
        "/manage/accounts/010300_teacher01/", {**NEW, "full_name": "林志明", "action": "grant"}
    )
    assert not StationGrant.objects.filter(account=teacher).exists()
    assert SecurityEvent.objects.filter(
        kind="station_revoked", account=teacher, actor=holder
    ).exists()


def test_a_bad_edit_comes_back_with_the_typed_values(holder_in, teacher):
    page = holder_in.post(
        "/manage/accounts/010300_teacher01/", {**NEW, "phone": "abc", "action": "save"}
    ).content.decode()
    assert "電話格式不正確" in page
    assert 'value="黃淑芬"' in page
    teacher.refresh_from_db()
    assert teacher.full_name == "林志明"


def test_disabling_ends_the_accounts_sessions_and_enabling_restores_it(holder_in, holder, teacher):
    teachers_browser = Client()
    sign_in(teachers_browser, "010300_teacher01", GOOD_PASSWORD)
    holder_in.post("/manage/accounts/010300_teacher01/", {"action": "disable"})
    teacher.refresh_from_db()
    assert teacher.state == Account.State.DISABLED
    assert "林志明您好" not in teachers_browser.get("/").content.decode()
    assert "此帳號已停用" in sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).content.decode()
    holder_in.post("/manage/accounts/010300_teacher01/", {"action": "enable"})
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    assert SecurityEvent.objects.filter(kind="account_disabled", actor=holder).exists()
    assert SecurityEvent.objects.filter(kind="account_enabled", actor=holder).exists()


def test_the_holder_cannot_disable_their_own_account(holder_in, holder):
    holder_in.post("/manage/accounts/010300_admin01/", {"action": "disable"})
    holder.refresh_from_db()
    assert holder.state == Account.State.ACTIVE


def test_resend_sends_a_new_link_to_a_pending_account_only(holder_in, holder, teacher, stats):
    holder_in.post("/manage/accounts/new/", {**NEW, **CAPTCHA_OK})
    first = link_token(mail.outbox[-1])
    holder_in.post("/manage/accounts/010300_teacher02/", {"action": "resend"})
    second = link_token(mail.outbox[-1])
    assert first != second
    assert Client().get(f"/ckverifycode/{first}/").status_code == 404
    count = len(mail.outbox)
    page = holder_in.post(
        "/manage/accounts/010300_teacher01/", {"action": "resend"}, follow=True
    ).content.decode()
    assert "只有尚未開通的帳號" in page
    assert len(mail.outbox) == count


def test_the_export_is_excel_friendly_and_holds_the_units_accounts_only(
    holder_in, holder, teacher, other_holder, stats
):
    grant_station(account=teacher, station=stats, actor=holder)
    response = holder_in.get("/manage/accounts/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:7] == ["子帳號", "姓名", "處室名稱", "職稱", "電話(分機)", "信箱", "編報站"]
    names = {row[0] for row in rows[1:]}
    assert names == {"admin01", "teacher01"}
    assert [row[6] for row in rows[1:] if row[0] == "teacher01"] == ["stats"]


def test_the_export_keeps_formulas_from_running_in_excel(holder_in, holder, teacher):
    teacher.full_name = '=HYPERLINK("http://evil.example","click")'
    teacher.office = "+SUM(1)"
    teacher.save(update_fields=["full_name", "office"])
    body = holder_in.get("/manage/accounts/export.csv").content.decode("utf-8").lstrip("\ufeff")
    row = next(r for r in csv.reader(io.StringIO(body)) if r[0] == "teacher01")
    assert row[1].startswith("'=") and row[2].startswith("'+")

"""申請子帳號 online (issue 18, seed 000): a teacher asks on /apply/sub-account/; the page answers
the same whether or not the unit exists or has a holder; the holder is mailed and sees a
count at home, then approves (as sent or edited), or rejects with a reason, on
/manage/requests/. Requests expire after 30 days; the same e-mail asking twice is merged."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from portal import queue
from portal.celery import app as celery_app
from schools.models import SubAccountRequest
from schools.services.sub_account_requests import expire_sub_account_requests
from stations.models import Station, StationGrant
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    CommittingClient,
    link_token,
    make_account,
    sign_in,
)

pytestmark = pytest.mark.django_db

ASK = {
    "code": "010300",
    "local_part": "huang",
    "full_name": "黃淑芬",
    "office": "學務處",
    "title": "生教組長",
    "phone": "049-2910960#3971",
    "email": "huang@school.edu.tw",
}


def ask(client, **changes):
    return client.post("/apply/sub-account/", {**ASK, **CAPTCHA_OK, **changes})


@pytest.fixture
def stats(db):
    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    return station


@pytest.fixture
def review_station(db):
    """A station for the admin side only: a school's request for it is dropped."""
    station = Station(
        slug="review", name="審查系統", entry_url="https://review.example.tw/", sides=["admin"]
    )
    station.save()
    return station


@pytest.fixture
def holder_in(holder):
    client = CommittingClient()
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


def sent_page(client, response) -> str:
    """The page a request's redirect leads to, with its per-request tokens taken out."""
    page = client.get(response["Location"]).content.decode()
    return re.sub(r'value="[0-9a-zA-Z]{40,}"', "", page)


# --- The public form ----------------------------------------------------------------------


def test_the_form_asks_for_the_seeds_fields_and_shows_the_prefix(client, stats):
    page = client.get("/apply/sub-account/").content.decode()
    for name in ("code", "local_part", "full_name", "office", "title", "phone", "email"):
        assert f'name="{name}"' in page
    assert 'name="stations" value="stats"' in page and "公務統計報表" in page
    assert 'name="captcha_1"' in page
    assert 'class="prefixed__prefix"' in page and "校代碼_" in page
    assert "/apply/sub-account/" in client.get("/").content.decode()  # linked from home


def test_a_request_reaches_the_units_holder_by_mail_and_on_the_home_page(
    client, holder, holder_in, stats, review_station
):
    response = ask(client, stations=["stats", "review"], local_part="Huang")
    assert response.status_code == 302 and response["Location"] == "/apply/sub-account/"
    page = client.get("/apply/sub-account/").content.decode()
    assert "申請已送出" in page and 'name="local_part"' not in page
    sub_request = SubAccountRequest.objects.get()
    assert (sub_request.unit, sub_request.local_part, sub_request.status) == (
        holder.unit,
        "huang",
        "pending",
    )
    assert sub_request.stations == ["stats"]  # the admin side's station is dropped
    [message] = mail.outbox
    assert message.to == [holder.email]
    assert "黃淑芬 申請子帳號，請審核" in message.subject
    assert "010300_huang" in message.body and "/manage/requests/" in message.body
    assert SecurityEvent.objects.filter(kind="sub_account_requested").count() == 1
    assert "子帳號申請：1 件待審核" in holder_in.get("/").content.decode()


@pytest.mark.parametrize("unit_case", ["unknown", "no_holder", "disabled_holder"])
def test_the_answer_is_the_same_whether_or_not_the_unit_exists_or_has_a_holder(
    client, holder, other_school, unit_case
):
    """No enumeration: the same status, redirect and page; nothing stored or mailed."""
    matched = sent_page(client, ask(client))
    assert SubAccountRequest.objects.filter(unit=holder.unit).delete()[0] == 1
    mail.outbox.clear()
    codes = {"unknown": "999999", "no_holder": other_school.code, "disabled_holder": "010300"}
    if unit_case == "disabled_holder":
        Account.objects.filter(pk=holder.pk).update(state=Account.State.DISABLED)
    other = CommittingClient()
    response = ask(other, code=codes[unit_case], email="someone@school.edu.tw")
    assert (response.status_code, response["Location"]) == (302, "/apply/sub-account/")
    assert sent_page(other, response) == matched
    assert not SubAccountRequest.objects.exists()
    assert not mail.outbox


def test_a_match_and_a_miss_do_the_same_work_in_the_request(
    client, holder, other_school, monkeypatch
):
    """With a live broker the request only publishes the task, the same for both: the unit
    is looked up by the worker."""
    published = []
    original = queue.publish

    def watching(name, **kwargs):
        published.append(name)
        return original(name, **kwargs)

    monkeypatch.setattr(queue, "publish", watching)
    celery_app.conf.task_always_eager = False
    try:
        counts = []
        for code in ("010300", "999999"):
            with CaptureQueriesContext(connection) as queries:
                ask(CommittingClient(), code=code)
            counts.append([q["sql"].split(" ")[0] for q in queries])
    finally:
        celery_app.control.purge()
        celery_app.conf.task_always_eager = True
    assert published == ["schools.tasks.submit_sub_account_request_if_unit_matches"] * 2
    assert counts[0] == counts[1]
    assert not SubAccountRequest.objects.exists()  # no worker ran


def test_bad_input_is_named_at_once_and_what_was_typed_stays(client, holder):
    response = client.post(
        "/apply/sub-account/",
        {**ASK, "code": "01", "local_part": "bad name", "phone": "abc", "email": "x", **CAPTCHA_OK},
    )
    assert response.status_code == 200
    page = response.content.decode()
    for message in (
        "單位代碼須為 3 到 10 個",
        "帳號只能使用英文",
        "電話格式不正確",
        "信箱格式不正確",
    ):
        assert message in page
    assert 'value="黃淑芬"' in page
    assert not SubAccountRequest.objects.exists()
    empty = client.post("/apply/sub-account/", {}).content.decode()
    for message in ("請輸入校代碼", "請輸入想要設定的帳號", "請輸入姓名", "請輸入驗證碼"):
        assert message in empty


def test_a_local_part_typed_with_the_prefix_is_understood_and_another_underscore_explained(
    client, holder
):
    assert ask(client, local_part="010300_Huang").status_code == 302
    assert SubAccountRequest.objects.get().local_part == "huang"
    page = ask(CommittingClient(), local_part="010301_huang").content.decode()
    assert "帳號只要填「校代碼_」後面的部分" in page


def test_a_wrong_captcha_stores_nothing(client, holder):
    from captcha.models import CaptchaStore

    key = CaptchaStore.generate_key()
    wrong = "1" if CaptchaStore.objects.get(hashkey=key).response != "1" else "2"
    response = client.post("/apply/sub-account/", {**ASK, "captcha_0": key, "captcha_1": wrong})
    assert response.status_code == 200 and "驗證碼不正確" in response.content.decode()
    assert not SubAccountRequest.objects.exists() and not mail.outbox


def test_one_e_mail_asking_again_and_again_is_throttled(client, holder):
    for _ in range(5):
        assert ask(client).status_code == 302
    assert ask(client, email="HUANG@school.edu.tw").status_code == 429


def test_the_same_e_mail_asking_twice_is_merged_into_one_request(client, holder, stats):
    ask(client, stations=[])
    ask(CommittingClient(), email="Huang@School.edu.tw", title="教學組長", stations=["stats"])
    sub_request = SubAccountRequest.objects.get()
    assert (sub_request.title, sub_request.submissions, sub_request.stations) == (
        "教學組長",
        2,
        ["stats"],
    )
    assert len(mail.outbox) == 1  # the holder is told once


# --- The holder's decisions -----------------------------------------------------------------


@pytest.fixture
def sub_request(client, holder, stats):
    ask(client, stations=["stats"])
    mail.outbox.clear()
    return SubAccountRequest.objects.get()


def test_who_may_open_the_requests_page(client, teacher, sub_request, other_holder):
    assert client.get("/manage/requests/")["Location"].startswith("/login/?next=")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get("/manage/requests/").status_code == 403
    outsider = Client()
    sign_in(outsider, "010301_principal", GOOD_PASSWORD)
    assert "黃淑芬" not in outsider.get("/manage/requests/").content.decode()
    answer = outsider.post("/manage/requests/", {"request": sub_request.pk, "action": "approve"})
    assert answer.status_code == 404
    assert outsider.post(
        "/manage/requests/", {"request": "x", "action": "approve"}
    ).status_code == (404)
    sub_request.refresh_from_db()
    assert sub_request.status == "pending"


def test_approving_as_sent_creates_the_account_with_its_stations_and_mails_it(
    holder_in, holder, sub_request, stats
):
    page = holder_in.get("/manage/requests/").content.decode()
    assert "黃淑芬" in page and 'value="huang"' in page and "010300_" in page
    response = holder_in.post("/manage/requests/", {"request": sub_request.pk, "action": "approve"})
    assert response["Location"] == "/manage/requests/"
    account = Account.objects.get(username="010300_huang")
    assert (account.state, account.role, account.title) == ("pending", "sub", "生教組長")
    assert StationGrant.objects.get(account=account).station == stats
    [message] = mail.outbox
    assert message.to == ["huang@school.edu.tw"] and "註冊會員成功通知" in message.subject
    link_token(message)  # the set-password link
    sub_request.refresh_from_db()
    assert (sub_request.status, sub_request.account, sub_request.decided_by) == (
        "approved",
        account,
        holder,
    )
    assert SecurityEvent.objects.filter(
        kind="sub_account_request_approved", account=account, actor=holder
    ).exists()
    assert "目前沒有待審核的子帳號申請" in holder_in.get("/manage/requests/").content.decode()


def test_the_holder_edits_the_request_before_approving(holder_in, sub_request, stats):
    holder_in.post(
        "/manage/requests/",
        {
            "request": sub_request.pk,
            "action": "approve",
            **{**ASK, "local_part": "Huang.sf", "title": "訓育組長"},
            "stations": [],
        },
    )
    account = Account.objects.get(username="010300_huang.sf")
    assert account.title == "訓育組長"
    assert not StationGrant.objects.filter(account=account).exists()


def test_a_taken_local_part_is_refused_at_approval_and_the_edits_stay(
    holder_in, holder, sub_request
):
    make_account(holder.unit, "huang")
    response = holder_in.post(
        "/manage/requests/",
        {"request": sub_request.pk, "action": "approve", **{**ASK, "title": "訓育組長"}},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "帳號 010300_huang 已有人使用" in page and 'value="訓育組長"' in page
    sub_request.refresh_from_db()
    assert sub_request.status == "pending"
    assert not mail.outbox


def test_rejecting_needs_a_reason_and_tells_the_requester(holder_in, holder, sub_request):
    response = holder_in.post(
        "/manage/requests/", {"request": sub_request.pk, "action": "reject", "reason": " "}
    )
    assert response.status_code == 200
    assert "請填寫退回原因" in response.content.decode()
    holder_in.post(
        "/manage/requests/",
        {"request": sub_request.pk, "action": "reject", "reason": "本校沒有這位老師"},
    )
    sub_request.refresh_from_db()
    assert (sub_request.status, sub_request.rejection_reason) == ("rejected", "本校沒有這位老師")
    [message] = mail.outbox
    assert message.to == ["huang@school.edu.tw"] and "子帳號申請未通過" in message.subject
    assert "本校沒有這位老師" in message.body
    assert SecurityEvent.objects.filter(kind="sub_account_request_rejected", actor=holder).exists()
    assert not Account.objects.filter(username="010300_huang").exists()
    again = holder_in.post(
        "/manage/requests/", {"request": sub_request.pk, "action": "approve"}, follow=True
    )
    assert "這份申請已經已退回，不能再審核" in again.content.decode()


def test_a_request_expires_after_30_days(client, holder, sub_request):
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1), tick=False):
        holder_in = CommittingClient()
        sign_in(holder_in, "010300_admin01", GOOD_PASSWORD)
        page = holder_in.get("/manage/requests/").content.decode()
        assert "目前沒有待審核的子帳號申請" in page
        answer = holder_in.post(
            "/manage/requests/", {"request": sub_request.pk, "action": "approve"}, follow=True
        )
        assert "已超過 30 天未審核，已逾期" in answer.content.decode()
        assert expire_sub_account_requests() == 1
        assert expire_sub_account_requests() == 0
        ask(CommittingClient())  # asking again starts a new request
        assert SubAccountRequest.objects.filter(status="pending").count() == 1
    sub_request.refresh_from_db()
    assert sub_request.status == "expired"
    assert not Account.objects.filter(username="010300_huang").exists()


def test_the_requests_page_costs_the_same_queries_for_few_or_many(holder_in, holder, stats):
    ask(CommittingClient(), email="a0@school.edu.tw")
    holder_in.get("/manage/requests/")
    with CaptureQueriesContext(connection) as few:
        holder_in.get("/manage/requests/")
    for index in range(1, 8):
        ask(CommittingClient(), email=f"a{index}@school.edu.tw", local_part=f"t{index}")
    with CaptureQueriesContext(connection) as many:
        page = holder_in.get("/manage/requests/").content.decode()
    assert page.count('name="action" value="approve"') == 8
    assert len(many) == len(few)


def test_the_rejection_mail_to_the_typed_address_carries_nothing_the_requester_typed(
    client, holder_in
):
    """Anyone can type anyone's address: the mail says only our text and the holder's."""
    lure = "請點 http://evil.example 領獎"
    ask(client, full_name=lure, office=lure, title=lure, local_part="claim-prize.example")
    sub_request = SubAccountRequest.objects.get()
    mail.outbox.clear()
    holder_in.post(
        "/manage/requests/", {"request": sub_request.pk, "action": "reject", "reason": "不認識"}
    )
    [message] = mail.outbox
    html = message.alternatives[0][0]
    for part in (message.subject, message.body, html):
        assert "evil.example" not in part and "claim-prize" not in part
    assert "不認識" in message.body and f"編號 {sub_request.pk}" in message.body

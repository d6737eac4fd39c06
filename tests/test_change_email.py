"""Changing one's own e-mail: /me/email/ and the confirmation link
/me/email/confirm/<token>/ (SPEC sections 5 and 12). The old address stays in force until the
link sent to the new address is confirmed; GET only shows a button, POST applies."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import EmailChangeRequest, SecurityEvent
from tests.conftest import GOOD_PASSWORD, CommittingClient, sign_in

pytestmark = pytest.mark.django_db

URL = "/me/email/"
OLD = "teacher01@school.edu.tw"
NEW = "lin.new@school.edu.tw"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+(/me/email/confirm/[^/\s\"<>]+/)")
GONE = "這個確認連結已經失效"
WRONG_PASSWORD = "Wrong#Password-99x"


@pytest.fixture
def signed_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


def ask(client, new_email=NEW, new_email2=None, password=GOOD_PASSWORD):
    return client.post(
        URL,
        {
            "new_email": new_email,
            "new_email2": new_email if new_email2 is None else new_email2,
            "password": password,
        },
    )


def confirm_path(message) -> str:
    match = CONFIRM_LINK.search(message.body)
    assert match, f"no confirmation link in: {message.body}"
    return match.group(1)


def mail_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def email_of(account) -> str:
    account.refresh_from_db()
    return account.email


# --- Guests ---------------------------------------------------------------------------------


def test_a_guest_is_sent_to_sign_in(client, teacher):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == "/login/?next=/me/email/"


def test_a_guest_cannot_ask_for_a_change(client, teacher):
    response = ask(client)

    assert response.status_code == 302
    assert response.url.startswith("/login/")
    assert mail.outbox == []
    assert not EmailChangeRequest.objects.exists()


# --- Asking ---------------------------------------------------------------------------------


def test_the_page_shows_the_current_address_and_the_fields(signed_in):
    response = signed_in.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"目前的公務信箱：{OLD}" in page
    for field in ('name="new_email"', 'name="new_email2"', 'name="password"'):
        assert field in page


def test_asking_mails_a_link_to_the_new_address_and_a_notice_to_the_old(signed_in, teacher):
    response = ask(signed_in)

    assert response.status_code == 302
    assert response.url == "/me/"
    assert len(mail.outbox) == 2
    [confirmation] = mail_to(NEW)
    [notice] = mail_to(OLD)
    path = confirm_path(confirmation)
    assert "請確認新的公務信箱" in confirmation.subject
    assert "010300_teacher01" in confirmation.body
    assert path in confirmation.alternatives[0][0]
    assert "公務信箱變更申請通知" in notice.subject
    assert NEW in notice.body
    assert "如果這不是您本人的操作" in notice.body
    assert "/me/email/confirm/" not in notice.body
    assert "/me/email/confirm/" not in notice.alternatives[0][0]


def test_the_old_address_stays_until_the_link_is_confirmed(signed_in, teacher):
    ask(signed_in)

    assert email_of(teacher) == OLD
    page = signed_in.get("/me/").content.decode()
    assert f"確認信已寄到 {NEW}" in page
    assert f"等待確認：{NEW}" in page


def test_asking_writes_an_event(signed_in, teacher):
    ask(signed_in)

    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGE_REQUESTED)
    assert event.account == teacher
    assert event.actor == teacher
    assert event.detail == {"old_email": OLD, "new_email": NEW}


def test_a_wrong_password_is_refused_and_nothing_is_sent(signed_in, teacher):
    response = ask(signed_in, password=WRONG_PASSWORD)

    page = response.content.decode()
    assert response.status_code == 200
    assert "密碼不正確（錯誤 3 次將鎖定帳號，目前【1】）" in page
    assert f'value="{NEW}"' in page
    assert WRONG_PASSWORD not in page
    assert mail.outbox == []
    assert not EmailChangeRequest.objects.exists()
    assert email_of(teacher) == OLD


def test_three_wrong_passwords_lock_the_name_and_are_in_the_security_log(signed_in, teacher):
    for attempt in (1, 2):
        assert f"目前【{attempt}】" in ask(signed_in, password=WRONG_PASSWORD).content.decode()
    assert "帳號已鎖定 15 分鐘" in ask(signed_in, password=WRONG_PASSWORD).content.decode()

    refused = sign_in(CommittingClient(), "010300_teacher01", GOOD_PASSWORD)
    assert "此帳號已鎖定 15 分鐘" in refused.content.decode()
    failures = SecurityEvent.objects.filter(kind="password_check_failed", account=teacher)
    assert [event.detail["purpose"] for event in failures] == ["email_change"] * 3
    assert SecurityEvent.objects.filter(kind="locked_out", account=teacher).count() == 1
    assert mail.outbox == []
    assert not EmailChangeRequest.objects.exists()


def test_a_locked_name_is_refused_before_its_password_is_checked(
    signed_in, teacher, hashed_lengths
):
    for _ in range(3):
        sign_in(CommittingClient(), "010300_teacher01", WRONG_PASSWORD)
    checked_before = len(hashed_lengths())

    page = ask(signed_in).content.decode()

    assert "帳號已鎖定 15 分鐘" in page
    assert len(hashed_lengths()) == checked_before  # the right password was never hashed
    assert mail.outbox == []
    assert not EmailChangeRequest.objects.exists()
    refused = SecurityEvent.objects.get(kind="password_check_failed", account=teacher)
    assert refused.detail["refused_locked"] is True


def test_two_different_new_addresses_are_refused(signed_in, teacher):
    response = ask(signed_in, new_email2="lin.other@school.edu.tw")

    page = response.content.decode()
    assert response.status_code == 200
    assert "兩次輸入的信箱不一致。" in page
    assert GOOD_PASSWORD not in page
    assert mail.outbox == []


def test_the_current_address_is_refused_ignoring_case(signed_in, teacher):
    response = ask(signed_in, new_email="Teacher01@SCHOOL.edu.tw")

    assert response.status_code == 200
    assert "新信箱與目前的信箱相同。" in response.content.decode()
    assert mail.outbox == []


def test_every_error_is_named_at_once(signed_in, teacher):
    response = ask(
        signed_in, new_email=OLD, new_email2="lin.other@school.edu.tw", password=WRONG_PASSWORD
    )

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("新信箱與目前的信箱相同。", "兩次輸入的信箱不一致。", "密碼不正確（"):
        assert message in page
    assert 'value="lin.other@school.edu.tw"' in page
    assert mail.outbox == []


def test_missing_and_malformed_fields_are_named_at_once(signed_in):
    response = signed_in.post(URL, {"new_email": "lin@school", "new_email2": "", "password": ""})

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("信箱格式不正確", "請再輸入一次新信箱。", "請輸入目前的密碼。"):
        assert message in page
    assert 'value="lin@school"' in page
    assert mail.outbox == []


def test_the_sixth_request_in_an_hour_is_throttled(signed_in, teacher):
    now = timezone.now()  # frozen: no rate-limit window ends during the test
    with time_machine.travel(now, tick=False):
        for _ in range(5):
            assert ask(signed_in, password=WRONG_PASSWORD).status_code == 200
        response = ask(signed_in)

    assert response.status_code == 429
    assert "操作太頻繁" in response.content.decode()
    assert mail.outbox == []
    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.THROTTLED).account == teacher


# --- Confirming -----------------------------------------------------------------------------


@pytest.fixture
def link(signed_in, teacher):
    """The confirmation path mailed to the new address."""
    ask(signed_in)
    return confirm_path(mail_to(NEW)[-1])


def test_opening_the_link_shows_a_button_and_changes_nothing(signed_in, teacher, link):
    response = signed_in.get(link)

    page = response.content.decode()
    assert response.status_code == 200
    assert f"把帳號 010300_teacher01 的公務信箱改為 {NEW}？" in page
    assert "確認變更" in page
    assert 'method="post"' in page
    assert email_of(teacher) == OLD
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EMAIL_CHANGED).exists()


def test_a_mail_scanner_opening_the_link_changes_nothing(teacher, link):
    scanner = Client()

    assert scanner.get(link).status_code == 200
    assert scanner.get(link).status_code == 200
    assert email_of(teacher) == OLD
    assert Client().post(link).status_code == 302
    assert email_of(teacher) == NEW


def test_confirming_changes_the_address_and_writes_an_event(signed_in, teacher, link):
    response = signed_in.post(link)

    assert response.status_code == 302
    assert response.url == "/me/"
    assert email_of(teacher) == NEW
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.account == teacher
    assert event.detail == {"old_email": OLD, "new_email": NEW}
    page = signed_in.get("/me/").content.decode()
    assert f"公務信箱已變更為 {NEW}。" in page
    assert "等待確認" not in page


def test_the_link_works_without_being_signed_in(teacher, link):
    response = Client().post(link)

    assert response.status_code == 302
    assert response.url == "/login/"
    assert email_of(teacher) == NEW


def test_the_link_works_only_once(signed_in, teacher, link):
    assert signed_in.post(link).status_code == 302

    again = signed_in.get(link)
    reused = signed_in.post(link)

    assert again.status_code == 404
    assert GONE in again.content.decode()
    assert reused.status_code == 404
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EMAIL_CHANGED).count() == 1


def test_the_link_still_works_just_before_24_hours(teacher, link):
    asked_at = EmailChangeRequest.objects.get(account=teacher).created_at

    with time_machine.travel(asked_at + timedelta(hours=23, minutes=59), tick=False):
        page = Client().get(link)
        response = Client().post(link)

    assert page.status_code == 200
    assert response.status_code == 302
    assert email_of(teacher) == NEW


def test_the_link_expires_after_24_hours(teacher, link):
    asked_at = EmailChangeRequest.objects.get(account=teacher).created_at

    with time_machine.travel(asked_at + timedelta(hours=24, minutes=1), tick=False):
        page = Client().get(link)
        response = Client().post(link)
        signed_in_again = Client()
        sign_in(signed_in_again, "010300_teacher01", GOOD_PASSWORD)
        profile = signed_in_again.get("/me/").content.decode()

    assert page.status_code == 404
    assert GONE in page.content.decode()
    assert response.status_code == 404
    assert email_of(teacher) == OLD
    assert "等待確認" not in profile


def test_a_newer_request_ends_the_older_link(signed_in, teacher, link):
    ask(signed_in, new_email="lin.newer@school.edu.tw")
    newer = confirm_path(mail_to("lin.newer@school.edu.tw")[-1])

    old_page = signed_in.get(link)
    old_post = signed_in.post(link)

    assert old_page.status_code == 404
    assert GONE in old_page.content.decode()
    assert old_post.status_code == 404
    assert email_of(teacher) == OLD
    assert "等待確認：lin.newer@school.edu.tw" in signed_in.get("/me/").content.decode()
    assert signed_in.post(newer).status_code == 302
    assert email_of(teacher) == "lin.newer@school.edu.tw"


def test_a_made_up_link_answers_404(client, teacher):
    response = client.get("/me/email/confirm/not-a-real-token/")

    assert response.status_code == 404
    assert GONE in response.content.decode()


def test_the_token_is_stored_only_hashed(teacher, link):
    token = link.rstrip("/").rsplit("/", 1)[1]

    for row in EmailChangeRequest.objects.values():
        assert not any(token in str(value) for value in row.values())

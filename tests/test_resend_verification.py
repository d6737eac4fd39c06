"""Resending the verification mail: /verify/resend/ (SPEC sections 3 and 5).

A pending account that gives its name, login name and e-mail gets a fresh set-password link;
every earlier link stops working. The page answers the same whatever matched.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from captcha.models import CaptchaStore
from django.core import mail
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from tests.conftest import CAPTCHA_OK, link_token
from tests.request_work import work_in_request

pytestmark = pytest.mark.django_db

URL = "/verify/resend/"
ACCEPTED = "已受理。如果您填寫的姓名、帳號與信箱都正確，而且帳號尚未開通，新的驗證信已寄到您的信箱"
PENDING = {"full_name": "王小明", "username": "010300_admin01", "email": "wang@school.edu.tw"}


def resend(client, captcha=CAPTCHA_OK, follow=False, **fields):
    return client.post(URL, {**PENDING, **fields, **captcha}, follow=follow)


def messages_on(response) -> list[str]:
    return re.findall(r'<p class="message message--\w+">(.*?)</p>', response.content.decode())


def answer(response):
    """What the visitor sees once the redirect is followed: status, address, messages."""
    return response.status_code, response.redirect_chain, messages_on(response)


def sent_since(count):
    return mail.outbox[count:]


def test_a_guest_sees_the_form_with_its_fields(client):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "補寄驗證信" in page
    for field in ('name="full_name"', 'name="username"', 'name="email"', 'name="captcha_1"'):
        assert field in page


def test_a_match_sends_a_new_link_that_replaces_the_earlier_one(
    client, pending_main, set_password_token
):
    before = len(mail.outbox)

    response = resend(client, follow=True)

    new_mail = sent_since(before)
    assert response.status_code == 200
    assert len(new_mail) == 1
    assert new_mail[0].to == ["wang@school.edu.tw"]
    token = link_token(new_mail[0])
    assert token != set_password_token
    assert client.get(f"/ckverifycode/{set_password_token}/").status_code == 404
    assert client.get(f"/ckverifycode/{token}/").status_code == 200


def test_a_match_says_it_was_accepted_and_writes_an_event(client, pending_main):
    response = resend(client, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert any(ACCEPTED in message for message in messages_on(response))
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.VERIFICATION_RESENT)
    assert event.account == pending_main
    assert event.actor is None


def test_the_new_link_sets_the_password(client, pending_main, set_password_token):
    resend(client)
    token = link_token(mail.outbox[-1])

    response = client.post(
        f"/ckverifycode/{token}/",
        {
            "new_password1": "Harbor#Lantern-Tide82",
            "new_password2": "Harbor#Lantern-Tide82",
            **CAPTCHA_OK,
        },
    )

    assert response.status_code == 302
    pending_main.refresh_from_db()
    assert pending_main.state == Account.State.ACTIVE


def test_the_login_name_and_e_mail_match_ignoring_case(client, pending_main, set_password_token):
    before = len(mail.outbox)

    resend(client, username=" 010300_ADMIN01 ", email="Wang@SCHOOL.edu.tw")

    assert len(sent_since(before)) == 1
    assert client.get(f"/ckverifycode/{set_password_token}/").status_code == 404


def test_the_mail_reads_well_in_text_and_html(client, pending_main):
    resend(client)

    message = mail.outbox[-1]
    html = message.alternatives[0][0]
    assert "補寄驗證信" in message.subject
    assert "如果您並不是【010300】學校的老師" in message.body
    assert "王小明您好" in message.body
    assert "先前寄出的連結都已失效" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "如果您並不是【010300】學校的老師" in html
    assert f"/ckverifycode/{link_token(message)}/" in html


@pytest.fixture
def disabled_pending(other_school, django_capture_on_commit_callbacks):
    """A pending main account that was disabled before its holder set a password (no service
    disables accounts yet, so the state is set directly)."""
    with django_capture_on_commit_callbacks(execute=True):
        account = create_main_account(
            unit=other_school,
            local_part="gone01",
            profile=Profile("陳美玲", "總務處", "主任", "02-77367800", "chen@school.edu.tw"),
        )
    Account.objects.filter(pk=account.pk).update(state=Account.State.DISABLED)
    return account


NON_MATCHES = {
    "a wrong name": {**PENDING, "full_name": "王大明"},
    "a wrong login name": {**PENDING, "username": "010300_admin02"},
    "a wrong e-mail": {**PENDING, "email": "wang@other.edu.tw"},
    "an active account": {
        "full_name": "林志明",
        "username": "010300_teacher01",
        "email": "teacher01@school.edu.tw",
    },
    "a disabled account": {
        "full_name": "陳美玲",
        "username": "010301_gone01",
        "email": "chen@school.edu.tw",
    },
    "an unknown login name": {
        "full_name": "無此人",
        "username": "999999_nobody",
        "email": "nobody@school.edu.tw",
    },
}


@pytest.mark.parametrize("case", NON_MATCHES, ids=list(NON_MATCHES))
def test_no_match_sends_nothing_and_answers_like_a_match(
    client, pending_main, set_password_token, teacher, disabled_pending, case
):
    matched = resend(client, follow=True)
    mails_after_match = len(mail.outbox)
    events = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.VERIFICATION_RESENT).count()
    still_working = link_token(mail.outbox[-1])

    unmatched = resend(client, follow=True, **NON_MATCHES[case])

    assert answer(unmatched) == answer(matched)
    assert any(ACCEPTED in message for message in messages_on(unmatched))
    assert len(mail.outbox) == mails_after_match
    assert SecurityEvent.objects.filter(kind="verification_resent").count() == events
    assert client.get(f"/ckverifycode/{still_working}/").status_code == 200


def test_no_match_leaves_the_earlier_link_working(client, pending_main, set_password_token):
    before = len(mail.outbox)

    resend(client, full_name="王大明")

    assert len(mail.outbox) == before
    assert client.get(f"/ckverifycode/{set_password_token}/").status_code == 200


def test_missing_fields_are_all_named_at_once(client, pending_main):
    before = len(mail.outbox)

    response = client.post(URL, {"full_name": "", "username": "", "email": "", "captcha_0": "x"})

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("請輸入姓名。", "請輸入帳號。", "請輸入信箱。", "請輸入驗證碼。"):
        assert message in page
    assert len(mail.outbox) == before


def test_a_refused_form_keeps_what_was_typed(client, pending_main):
    before = len(mail.outbox)

    response = client.post(
        URL, {"full_name": "王小明", "username": "010300_admin01", "email": "wang@school"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "信箱格式不正確" in page
    assert "請輸入驗證碼。" in page
    assert 'value="王小明"' in page
    assert 'value="010300_admin01"' in page
    assert 'value="wang@school"' in page
    assert len(mail.outbox) == before


def captcha_key(client) -> str:
    page = client.get(URL).content.decode()
    return re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)


def test_a_wrong_captcha_is_refused(client, real_captcha, pending_main, set_password_token):
    before = len(mail.outbox)
    key = captcha_key(client)
    answer_ = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer_ != "000000" else "111111"

    response = resend(client, captcha={"captcha_0": key, "captcha_1": wrong})

    assert response.status_code == 200
    assert "驗證碼不正確" in response.content.decode()
    assert len(mail.outbox) == before
    assert client.get(f"/ckverifycode/{set_password_token}/").status_code == 200


def test_the_right_captcha_is_accepted(client, real_captcha, pending_main):
    before = len(mail.outbox)
    key = captcha_key(client)
    right = CaptchaStore.objects.get(hashkey=key).response

    response = resend(client, captcha={"captcha_0": key, "captcha_1": right})

    assert response.status_code == 302
    assert len(mail.outbox) == before + 1


def test_the_sixth_try_for_one_login_name_in_an_hour_is_throttled(client, pending_main):
    before = len(mail.outbox)
    now = timezone.now()  # frozen: no rate-limit window ends during the test
    with time_machine.travel(now, tick=False):
        for spelling in ("010300_admin01", "010300_ADMIN01", "010300_Admin01", "010300_admin01 "):
            assert resend(client, full_name="王大明", username=spelling).status_code == 302
        assert resend(client, full_name="王大明").status_code == 302

        response = resend(client)

    assert response.status_code == 429
    assert "操作太頻繁" in response.content.decode()
    assert len(mail.outbox) == before
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.THROTTLED)
    assert event.detail == {"path": URL}


def test_the_throttle_counts_per_login_name_and_lifts_after_an_hour(client, pending_main):
    before = len(mail.outbox)
    now = timezone.now()  # frozen: no rate-limit window ends during the test
    with time_machine.travel(now, tick=False):
        tries = [resend(client, full_name="王大明").status_code for _ in range(6)]
        other_name = resend(client, username="010300_someone")
    with time_machine.travel(now + timedelta(hours=1, minutes=1), tick=False):
        later = resend(client)

    assert tries == [302] * 5 + [429]
    assert other_name.status_code == 302
    assert later.status_code == 302
    assert len(mail.outbox) == before + 1


def test_an_empty_submission_is_answered_with_errors_not_a_blank_form(client):
    page = client.post("/verify/resend/", {}).content.decode()
    assert "請輸入姓名" in page
    assert "請輸入帳號" in page


# --- The same work in the request for a match and a miss (issue 13) ----------------------


@pytest.mark.parametrize(
    "miss",
    [{"full_name": "王大明"}, {"username": "010300_nobody"}, {"email": "x@school.edu.tw"}],
    ids=["name", "login name", "e-mail"],
)
def test_a_match_and_a_miss_do_the_same_work_in_the_request(pending_main, miss):
    mail.outbox.clear()
    links_before = pending_main.set_password_tokens.count()

    matched = work_in_request(URL, {**PENDING, **CAPTCHA_OK})
    missed = work_in_request(URL, {**PENDING, **miss, **CAPTCHA_OK})

    assert (matched.status, matched.location) == (missed.status, missed.location) == (302, URL)
    assert matched.queries == missed.queries
    assert len(matched.callbacks) == len(missed.callbacks) == 1  # the hand-off to the task
    assert pending_main.set_password_tokens.count() == links_before  # no link in the request
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.VERIFICATION_RESENT).exists()

    matched.commit()
    missed.commit()
    (message,) = mail.outbox  # the eager task mailed the match only
    assert message.to == [pending_main.email]
    assert "/ckverifycode/" in message.body
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.VERIFICATION_RESENT)
    assert event.account == pending_main and event.ip_address == "127.0.0.1"

"""Forgot account: /account/lookup/ mails the login names an e-mail holds in one unit
(SPEC sections 5 and 12). The page answers the same whether or not anything matched."""

import re

import pytest
import time_machine
from captcha.models import CaptchaStore
from django.core import mail
from django.utils import timezone

from accounts.models import SecurityEvent
from tests.conftest import CAPTCHA_OK, make_account
from tests.request_work import work_in_request

pytestmark = pytest.mark.django_db

URL = "/account/lookup/"
ACCEPTED = "已受理。如果校代碼與信箱都正確，該信箱在這個單位的帳號清單已寄到該信箱。"
SHARED = "office@school.edu.tw"


@pytest.fixture
def two_accounts(school):
    """Two accounts of 010300 that share one office mailbox."""
    return [
        make_account(school, "lin01", full_name="林志明", email=SHARED),
        make_account(school, "lin02", full_name="林怡君", email="Office@School.edu.tw"),
    ]


@pytest.fixture
def elsewhere(other_school):
    """An account of another unit with the same mailbox."""
    return make_account(other_school, "chen01", full_name="陳美玲", email=SHARED)


def look_up(client, code="010300", email=SHARED, captcha=CAPTCHA_OK, follow=False):
    return client.post(URL, {"code": code, "email": email, **captcha}, follow=follow)


def messages_on(response) -> list[str]:
    return re.findall(r'<p class="message message--\w+">(.*?)</p>', response.content.decode())


def answer(response):
    return response.status_code, response.redirect_chain, messages_on(response)


def test_a_guest_sees_the_form(client):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "忘記帳號" in page
    for field in ('name="code"', 'name="email"', 'name="captcha_1"'):
        assert field in page


def test_it_mails_every_login_name_of_that_address_in_that_unit(client, two_accounts, elsewhere):
    response = look_up(client, follow=True)

    assert response.status_code == 200
    assert any(ACCEPTED in message for message in messages_on(response))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [SHARED]
    assert "忘記帳號：您的帳號清單" in message.subject
    assert "010300_lin01" in message.body
    assert "010300_lin02" in message.body
    assert "010301_chen01" not in message.body
    assert "010300 國立示範高級中學" in message.body
    html = message.alternatives[0][0]
    assert "010300_lin01" in html and "010300_lin02" in html
    assert "010301_chen01" not in html


def test_it_writes_one_event_per_account_found(client, two_accounts, elsewhere):
    look_up(client)

    events = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ACCOUNT_LOOKUP)
    assert sorted(event.account.username for event in events) == ["010300_lin01", "010300_lin02"]


def test_the_e_mail_and_the_code_match_ignoring_case(client, agency, reviewer):
    look_up(client, code="moe001", email="REVIEWER@School.EDU.tw")

    assert len(mail.outbox) == 1
    assert "moe001_reviewer" in mail.outbox[0].body


NON_MATCHES = {
    "a wrong unit code": {"code": "010302"},
    "another unit's code": {"code": "010301", "email": "teacher01@school.edu.tw"},
    "a wrong e-mail": {"email": "nobody@school.edu.tw"},
}


@pytest.mark.parametrize("case", NON_MATCHES, ids=list(NON_MATCHES))
def test_no_match_sends_nothing_and_answers_like_a_match(
    client, two_accounts, elsewhere, teacher, case
):
    matched = look_up(client, follow=True)
    mail.outbox.clear()

    unmatched = look_up(client, follow=True, **NON_MATCHES[case])

    assert answer(unmatched) == answer(matched)
    assert any(ACCEPTED in message for message in messages_on(unmatched))
    assert mail.outbox == []
    assert SecurityEvent.objects.filter(kind="account_lookup").count() == 2


def test_a_malformed_e_mail_is_refused_with_a_clear_message(client, two_accounts):
    response = look_up(client, email="office@school")

    page = response.content.decode()
    assert response.status_code == 200
    assert "信箱格式不正確，例如 name@school.edu.tw。" in page
    assert 'value="office@school"' in page
    assert 'value="010300"' in page
    assert mail.outbox == []


def test_missing_fields_are_all_named_at_once(client, two_accounts):
    response = client.post(URL, {"code": "", "email": "", "captcha_0": "x"})

    page = response.content.decode()
    assert response.status_code == 200
    for message in ("請輸入校代碼（單位代碼）。", "請輸入信箱。", "請輸入驗證碼。"):
        assert message in page
    assert mail.outbox == []


def test_a_wrong_captcha_is_refused(client, real_captcha, two_accounts):
    page = client.get(URL).content.decode()
    key = re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)
    right = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if right != "000000" else "111111"

    response = look_up(client, captcha={"captcha_0": key, "captcha_1": wrong})

    assert response.status_code == 200
    assert "驗證碼不正確" in response.content.decode()
    assert mail.outbox == []


def test_the_sixth_lookup_of_one_address_in_an_hour_is_throttled(client, two_accounts):
    now = timezone.now()  # frozen: no rate-limit window ends during the test
    with time_machine.travel(now, tick=False):
        for _ in range(5):
            assert look_up(client, code="010302", email="Office@school.edu.tw").status_code == 302

        response = look_up(client)

    assert response.status_code == 429
    assert "操作太頻繁" in response.content.decode()
    assert mail.outbox == []
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.THROTTLED).count() == 1


# --- The same work in the request for a match and a miss (issue 13) ----------------------


@pytest.mark.parametrize(
    "miss",
    [{"code": "999999"}, {"code": "010301", "email": "nobody@school.edu.tw"}],
    ids=["unknown unit", "no account with that e-mail"],
)
def test_a_match_and_a_miss_do_the_same_work_in_the_request(two_accounts, other_school, miss):
    matched = work_in_request(URL, {"code": "010300", "email": SHARED, **CAPTCHA_OK})
    missed = work_in_request(URL, {"code": "010300", "email": SHARED, **miss, **CAPTCHA_OK})

    assert (matched.status, matched.location) == (missed.status, missed.location) == (302, URL)
    assert matched.queries == missed.queries
    assert len(matched.callbacks) == len(missed.callbacks) == 1  # the hand-off to the task
    assert mail.outbox == []
    assert not SecurityEvent.objects.filter(kind="account_lookup").exists()

    matched.commit()
    missed.commit()
    (message,) = mail.outbox  # the eager task mailed the match only
    assert message.to == [two_accounts[0].email]
    assert "010300_lin01" in message.body and "010300_lin02" in message.body
    assert SecurityEvent.objects.filter(kind="account_lookup").count() == 2

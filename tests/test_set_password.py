"""Setting the first password from the account-created mail: /ckverifycode/<token>/."""

import re
from datetime import timedelta

import time_machine
from captcha.models import CaptchaStore
from django.core import mail
from django.test import Client

from accounts.models import Account, SecurityEvent, SetPasswordToken
from accounts.services.set_password import issue_set_password_link
from mail.models import OutboundEmail
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, LINK_PATTERN, sign_in

GONE = "連結已經失效"
MISMATCH = "兩次輸入的密碼不一致"
WRONG_CAPTCHA = "驗證碼不正確"
GUESSABLE = "密碼太常見或容易猜到"


def url(token):
    return f"/ckverifycode/{token}/"


def choose(client, token, password=GOOD_PASSWORD, confirmation=None, captcha=CAPTCHA_OK):
    return client.post(
        url(token),
        {
            "new_password1": password,
            "new_password2": password if confirmation is None else confirmation,
            **captcha,
        },
    )


def assert_still_pending(account):
    account.refresh_from_db()
    assert account.state == Account.State.PENDING
    assert not account.has_usable_password()


def test_it_greets_the_person_by_name(client, set_password_token):
    response = client.get(url(set_password_token))

    assert response.status_code == 200
    assert "王小明您好" in response.content.decode()
    assert "010300_admin01" in response.content.decode()


def test_it_sets_the_password_and_activates_the_account(client, pending_main, set_password_token):
    response = choose(client, set_password_token)

    assert response.status_code == 302
    assert response.url == "/login/"
    pending_main.refresh_from_db()
    assert pending_main.state == Account.State.ACTIVE
    assert pending_main.activated_at is not None
    assert pending_main.check_password(GOOD_PASSWORD)
    signed_in = sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert signed_in.status_code == 302
    assert signed_in.url == "/"


def test_it_hashes_with_argon2id_and_the_documented_parameters(
    client, pending_main, set_password_token
):
    choose(client, set_password_token)

    pending_main.refresh_from_db()
    assert pending_main.password.startswith("argon2nfkc$argon2id$v=19$m=19456,t=2,p=1$")


def test_it_writes_a_password_set_event(client, pending_main, set_password_token):
    choose(client, set_password_token)

    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_SET)
    assert event.account == pending_main
    assert event.actor == pending_main


def test_it_works_only_once(client, pending_main, set_password_token):
    assert choose(client, set_password_token).status_code == 302

    again = client.get(url(set_password_token))
    reused = choose(client, set_password_token, password="Mango!Orchard-Kettle57")

    assert again.status_code == 404
    assert GONE in again.content.decode()
    assert reused.status_code == 404
    pending_main.refresh_from_db()
    assert pending_main.check_password(GOOD_PASSWORD)


def test_it_still_works_just_before_72_hours(client, pending_main, set_password_token):
    sent_at = SetPasswordToken.objects.get(account=pending_main).created_at

    with time_machine.travel(sent_at + timedelta(hours=71, minutes=59), tick=False):
        page = client.get(url(set_password_token))
        response = choose(client, set_password_token)

    assert page.status_code == 200
    assert response.status_code == 302
    pending_main.refresh_from_db()
    assert pending_main.state == Account.State.ACTIVE


def test_it_expires_after_72_hours(client, pending_main, set_password_token):
    sent_at = SetPasswordToken.objects.get(account=pending_main).created_at

    with time_machine.travel(sent_at + timedelta(hours=72, minutes=1), tick=False):
        page = client.get(url(set_password_token))
        response = choose(client, set_password_token)

    assert page.status_code == 404
    assert GONE in page.content.decode()
    assert response.status_code == 404
    assert_still_pending(pending_main)


def test_a_newer_link_ends_the_older_one(client, pending_main, set_password_token):
    newer = LINK_PATTERN.search(issue_set_password_link(account=pending_main)).group(1)

    old_page = client.get(url(set_password_token))
    new_page = client.get(url(newer))

    assert old_page.status_code == 404
    assert GONE in old_page.content.decode()
    assert new_page.status_code == 200
    assert choose(client, newer).status_code == 302


def test_it_answers_404_to_a_made_up_token(client, pending_main):
    response = client.get(url("not-a-real-token"))

    assert response.status_code == 404
    assert GONE in response.content.decode()


def test_it_stores_the_token_only_hashed(pending_main, set_password_token):
    rows = list(SetPasswordToken.objects.values())

    assert rows
    for row in rows:
        assert not any(set_password_token in str(value) for value in row.values())


def test_it_refuses_two_different_passwords(client, pending_main, set_password_token):
    response = choose(client, set_password_token, confirmation="Mango!Orchard-Kettle57")

    assert response.status_code == 200
    assert MISMATCH in response.content.decode()
    assert_still_pending(pending_main)


def captcha_key(page) -> str:
    return re.search(r'name="captcha_0" value="([0-9a-f]+)"', page.content.decode()).group(1)


def test_it_refuses_a_wrong_captcha(client, real_captcha, pending_main, set_password_token):
    key = captcha_key(client.get(url(set_password_token)))
    answer = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer != "000000" else "111111"

    response = choose(client, set_password_token, captcha={"captcha_0": key, "captcha_1": wrong})

    assert response.status_code == 200
    assert WRONG_CAPTCHA in response.content.decode()
    assert_still_pending(pending_main)


def test_it_refuses_a_missing_captcha(client, real_captcha, pending_main, set_password_token):
    key = captcha_key(client.get(url(set_password_token)))

    response = choose(client, set_password_token, captcha={"captcha_0": key, "captcha_1": ""})

    assert response.status_code == 200
    assert "請輸入驗證碼" in response.content.decode()
    assert_still_pending(pending_main)


def test_it_accepts_the_right_captcha(client, real_captcha, pending_main, set_password_token):
    key = captcha_key(client.get(url(set_password_token)))
    answer = CaptchaStore.objects.get(hashkey=key).response

    response = choose(client, set_password_token, captcha={"captcha_0": key, "captcha_1": answer})

    assert response.status_code == 302


def test_it_lists_every_error_at_once(client, real_captcha, pending_main, set_password_token):
    key = captcha_key(client.get(url(set_password_token)))
    answer = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer != "000000" else "111111"

    response = choose(
        client,
        set_password_token,
        password="P@ssword1!",
        confirmation="P@ssword2!",
        captcha={"captcha_0": key, "captcha_1": wrong},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert MISMATCH in page
    assert WRONG_CAPTCHA in page
    assert GUESSABLE not in page  # the rules run once the captcha has passed
    assert_still_pending(pending_main)


def test_the_rules_are_listed_with_the_mismatch_once_the_captcha_passed(
    client, pending_main, set_password_token
):
    page = choose(
        client, set_password_token, password="P@ssword1!", confirmation="P@ssword2!"
    ).content.decode()

    assert MISMATCH in page
    assert GUESSABLE in page


def test_a_wrong_captcha_runs_none_of_the_password_rules(
    client, real_captcha, policy_runs, pending_main, set_password_token
):
    runs = policy_runs
    key = captcha_key(client.get(url(set_password_token)))
    answer = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer != "000000" else "111111"
    long_password = "Password" * 16  # 128 characters: the longest the rules are run on

    response = choose(
        client,
        set_password_token,
        password=long_password,
        captcha={"captcha_0": key, "captcha_1": wrong},
    )

    assert response.status_code == 200
    assert WRONG_CAPTCHA in response.content.decode()
    assert runs == []
    assert_still_pending(pending_main)
    # The control: with the right captcha the same password goes through the rules.
    key = captcha_key(client.get(url(set_password_token)))
    answer = CaptchaStore.objects.get(hashkey=key).response
    choose(
        client,
        set_password_token,
        password=long_password,
        captcha={"captcha_0": key, "captcha_1": answer},
    )
    assert runs == [128]


def test_the_mail_carries_the_link_and_the_outbox_forgets_it(pending_main, set_password_token):
    message = mail.outbox[-1]
    html = message.alternatives[0][0]
    link = f"/ckverifycode/{set_password_token}/"

    assert message.to == ["wang@school.edu.tw"]
    assert link in message.body
    assert link in html
    assert "如果您並不是【010300】學校的老師，請忽略本信件" in message.body
    for value in ("010300_admin01", "王小明", "教務處", "教務主任", "049-2910960#3765"):
        assert value in message.body
    row = OutboundEmail.objects.get(account=pending_main, kind="account_created")
    assert row.status == OutboundEmail.Status.SENT
    assert row.body_cleared_at is not None
    assert set_password_token not in row.body_text
    assert set_password_token not in row.body_html


def test_it_enforces_csrf(pending_main, set_password_token):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(url(set_password_token))
    form = {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD, **CAPTCHA_OK}

    forged = browser.post(url(set_password_token), form)

    assert forged.status_code == 403
    assert_still_pending(pending_main)
    genuine = browser.post(
        url(set_password_token), {**form, "csrfmiddlewaretoken": str(page.context["csrf_token"])}
    )
    assert genuine.status_code == 302

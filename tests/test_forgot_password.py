"""Forgot password in two steps (SPEC section 5, seed 000): name + login name + e-mail, then
an 8-digit code behind a 2-letter prefix, valid 60 minutes, dead after 5 wrong tries."""

import os
import re
import time
from datetime import timedelta

import pytest
import time_machine
from captcha.conf import settings as captcha_settings
from captcha.models import CaptchaStore
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.test import Client, TestCase
from django.utils import timezone

from accounts.models import PasswordResetCode, SecurityEvent
from portal.celery import app as celery_app
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, CommittingClient, sign_in
from tests.request_work import Publications, work_in_request

pytestmark = pytest.mark.django_db

WRONG = "Wrong#Password-99x"
NEW = "Sunrise!Bamboo-Ferry64"
STEP_1 = "/password/forgot/"
STEP_2 = "/password/forgot/code/"
TEACHER = {
    "full_name": "林志明",
    "username": "010300_teacher01",
    "email": "teacher01@school.edu.tw",
}


def ask(client, **person):
    return client.post(STEP_1, {**TEACHER, **person, **CAPTCHA_OK}, follow=True)


def code_in(message) -> tuple[str, str]:
    prefix, code = re.search(r"\b([A-Z]{2})-(\d{8})\b", message.body).groups()
    return prefix, code


def reset(client, code, password=NEW, confirm=None, **extra):
    data = {
        "code": code,
        "new_password1": password,
        "new_password2": confirm or password,
        **CAPTCHA_OK,
    }
    return client.post(STEP_2, {**data, **extra})


def shown_prefix(response) -> str:
    return re.search(r"英文代碼：<strong>([A-Z]{2})</strong>", response.content.decode()).group(1)


def test_step_one_mails_a_code_whose_prefix_the_next_page_shows(client, teacher):
    response = ask(client)
    assert response.redirect_chain[-1][0] == STEP_2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [teacher.email]
    assert "忘記密碼確認信" in message.subject
    prefix, code = code_in(message)
    assert shown_prefix(response) == prefix
    assert prefix in message.subject
    assert "60 分鐘" in message.body
    assert "「帳號」：010300_teacher01" in message.body
    assert message.alternatives[0].mimetype == "text/html"
    assert SecurityEvent.objects.filter(kind="password_reset_requested", account=teacher).exists()
    row = PasswordResetCode.objects.get()
    assert code not in row.code_hash  # stored as a keyed hash, never the code


@pytest.mark.parametrize(
    "person",
    [
        {"full_name": "林志明X"},
        {"username": "010300_nobody"},
        {"email": "someone.else@school.edu.tw"},
    ],
)
def test_step_one_answers_the_same_when_nothing_matches(client, teacher, person):
    matched = ask(CommittingClient())
    unmatched = ask(client, **person)
    assert unmatched.redirect_chain == matched.redirect_chain
    typed = person.get("username", TEACHER["username"])
    assert comparable(unmatched, typed) == comparable(matched, TEACHER["username"])
    assert len(mail.outbox) == 1  # only the matched request mailed


def comparable(response, typed_username):
    """The page without what differs by design: tokens, the random prefix, the typed name
    (and its part after the school code, which the password checklist compares with)."""
    page = response.content.decode().replace(typed_username, "NAME")
    local_part = typed_username.partition("_")[2]
    if local_part:
        page = page.replace(f'data-login-name="{local_part}"', 'data-login-name="LOCAL"')
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)
    page = re.sub(r"[0-9a-f]{40}", "CAPTCHA", page)
    # The countdowns run from this flow's start, match or miss (seconds apart here).
    page = re.sub(r'data-(countdown|wait)="\d+"', r'data-\1="N"', page)
    page = re.sub(r"\d\d:\d\d 前有效|\d+ 秒後可以再按", "TIME", page)
    return re.sub(r"\b[A-Z]{2}\b(?=</strong>|-12345678)", "XX", page)


def test_a_disabled_or_pending_account_gets_no_code(client, teacher, pending_main):
    teacher.state = "disabled"
    teacher.save(update_fields=["state"])
    mail.outbox.clear()
    ask(client)
    ask(
        CommittingClient(),
        full_name="王小明",
        username="010300_admin01",
        email="wang@school.edu.tw",
    )
    assert mail.outbox == []


def test_step_two_without_step_one_sends_people_back(client):
    response = client.get(STEP_2, follow=True)
    assert response.redirect_chain[-1][0] == STEP_1
    assert "請先填寫姓名、帳號與信箱" in response.content.decode()


def test_the_right_code_sets_the_new_password_unlocks_and_notifies(client, teacher):
    for _ in range(3):
        sign_in(Client(), "010300_teacher01", WRONG)  # locked
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    response = reset(client, code)
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 200
    assert sign_in(Client(), "010300_teacher01", NEW).status_code == 302  # unlocked too
    notice = mail.outbox[-1]
    assert "密碼已變更通知" in notice.subject
    assert code not in notice.body
    assert SecurityEvent.objects.filter(kind="password_reset", account=teacher).exists()


def test_a_reset_ends_every_session_of_the_account(client, teacher):
    elsewhere = Client()
    sign_in(elsewhere, "010300_teacher01", GOOD_PASSWORD)
    assert "林志明您好" in elsewhere.get("/").content.decode()
    ask(client)
    reset(client, code_in(mail.outbox[-1])[1])
    assert "林志明您好" not in elsewhere.get("/").content.decode()


def test_the_code_can_be_pasted_with_its_prefix(client, teacher):
    ask(client)
    prefix, code = code_in(mail.outbox[-1])
    assert reset(client, f" {prefix}-{code} ").status_code == 302


def test_a_wrong_code_is_refused_and_five_wrong_tries_kill_the_code(client, teacher):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    for attempt in range(5):
        response = reset(client, wrong)
        assert response.status_code == 200
        assert "驗證碼錯誤或已失效" in response.content.decode()
    assert PasswordResetCode.objects.get().failed_attempts == 5
    response = reset(client, code)
    assert "驗證碼錯誤或已失效" in response.content.decode()
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302  # unchanged
    # The try on the dead code is logged as well: a wrong or dead code costs the same work
    # whether or not step 1 matched.
    assert SecurityEvent.objects.filter(kind="password_reset_code_failed").count() == 6


def test_the_code_lives_sixty_minutes(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
        _prefix, code = code_in(mail.outbox[-1])
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert "驗證碼錯誤或已失效" in reset(client, code).content.decode()


def test_the_code_still_works_at_fifty_nine_minutes(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
        _prefix, code = code_in(mail.outbox[-1])
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert reset(client, code).status_code == 302


def test_resend_waits_a_minute_then_replaces_the_code_and_prefix(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
        old_prefix, old_code = code_in(mail.outbox[-1])
        too_soon = client.post(STEP_2, {"action": "resend"}, follow=True)
        assert "請稍候" in too_soon.content.decode()
        assert len(mail.outbox) == 1
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = client.post(STEP_2, {"action": "resend"}, follow=True)
        assert len(mail.outbox) == 2
        new_prefix, new_code = code_in(mail.outbox[-1])
        assert shown_prefix(response) == new_prefix
        assert f"「{new_prefix}」" in response.content.decode()
        assert "驗證碼錯誤或已失效" in reset(client, old_code).content.decode()
        assert reset(client, new_code).status_code == 302


def test_resend_after_an_unmatched_step_one_looks_the_same_and_mails_nothing(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client, email="someone.else@school.edu.tw")
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = client.post(STEP_2, {"action": "resend"}, follow=True)
    assert "已重寄" in response.content.decode()
    assert mail.outbox == []


def test_after_an_unmatched_step_one_every_code_is_wrong(client, teacher):
    ask(client, full_name="別人")
    assert "驗證碼錯誤或已失效" in reset(client, "12345678").content.decode()


def test_every_error_is_listed_at_once(client, teacher):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    page = reset(client, wrong, password="abcd1234", confirm="abcd12345").content.decode()
    assert "驗證碼錯誤或已失效" in page
    assert "鍵盤或字母順序" in page
    assert "兩次輸入的密碼不一致" in page
    assert "abcd1234" not in page


def test_a_wrong_captcha_does_not_check_the_code(client, teacher, monkeypatch):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    from captcha.conf import settings as captcha_settings

    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", False)
    page = reset(client, wrong).content.decode()
    assert "驗證碼已過期" in page  # the test's captcha key was never drawn: no captcha
    assert "驗證碼錯誤或已失效" not in page  # no oracle for the code without a captcha
    assert PasswordResetCode.objects.get().failed_attempts == 0


def test_a_wrong_captcha_runs_none_of_the_password_rules_and_keeps_the_code(
    client, teacher, policy_runs, monkeypatch
):
    from tests.test_set_password import captcha_key

    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", False)
    runs = policy_runs
    long_password = "Password" * 16  # 128 characters: the longest the rules are run on
    key = captcha_key(client.get(STEP_2))
    answer = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer != "000000" else "111111"

    response = reset(client, code, password=long_password, captcha_0=key, captcha_1=wrong)

    page = response.content.decode()
    assert response.status_code == 200
    assert "驗證碼不正確" in page
    assert f'value="{code}"' in page  # what was typed comes back (not the password)
    assert long_password not in page
    assert runs == []
    assert PasswordResetCode.objects.get().used_at is None
    # The control: with the right captcha the same password goes through the rules.
    key = captcha_key(client.get(STEP_2))
    answer = CaptchaStore.objects.get(hashkey=key).response
    reset(client, code, password=long_password, captcha_0=key, captcha_1=answer)
    assert runs == [128]


def test_the_history_rule_applies_to_resets(client, teacher):
    ask(client)
    page = reset(client, code_in(mail.outbox[-1])[1], password=GOOD_PASSWORD).content.decode()
    assert "不可與前 3 次設定的密碼相同" in page
    assert PasswordResetCode.objects.get().used_at is None  # the code is not used up


def test_a_used_code_cannot_be_used_again(client, teacher):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    assert reset(client, code).status_code == 302
    ask(client)
    assert (
        "驗證碼錯誤或已失效" in reset(client, code, password=OTHER_GOOD_PASSWORD).content.decode()
    )


def test_step_two_does_not_test_the_current_password_before_the_code(client, teacher):
    """The history rule would answer "that is one of your last passwords" for the real one."""
    ask(client)
    unmatched = CommittingClient()
    ask(unmatched, full_name="別人")
    for visitor in (client, unmatched):
        page = visitor.post(
            STEP_2, {"code": "", "new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}
        ).content.decode()
        assert "新密碼不可與前 3 次設定的密碼相同" not in page


def test_step_two_looks_the_same_for_a_password_containing_the_login_name(client, teacher):
    ask(client)
    unmatched = CommittingClient()
    ask(unmatched, full_name="別人")
    guess = "Teacher01#Harbor-Tide82"
    pages = [
        comparable(
            v.post(STEP_2, {"code": "", "new_password1": guess, "new_password2": guess}),
            TEACHER["username"],
        )
        for v in (client, unmatched)
    ]
    assert pages[0] == pages[1]


def test_the_account_rules_apply_once_the_code_is_right(client, teacher):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    page = reset(client, code, password="Teacher01#Harbor-Tide82").content.decode()
    assert "不可與帳號相同，也不可包含帳號" in page


def test_resend_always_gives_this_visitor_a_fresh_prefix(teacher):
    first, second = CommittingClient(), CommittingClient()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(first)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        second_prefix = shown_prefix(ask(second))
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = first.post(STEP_2, {"action": "resend"}, follow=True)
    assert len(mail.outbox) == 3  # a new code for this visitor, not the other session's
    assert shown_prefix(response) == code_in(mail.outbox[-1])[0]
    assert second_prefix == code_in(mail.outbox[1])[0]


def test_requests_without_a_valid_captcha_do_not_spend_a_login_names_allowance(
    teacher, real_captcha
):
    attacker = CommittingClient(REMOTE_ADDR="10.9.9.9")
    for _ in range(10):
        attacker.post(
            STEP_1, {"username": "010300_teacher01", "captcha_0": "x", "captcha_1": "000000"}
        )
    from captcha.conf import settings as captcha_settings

    captcha_settings.CAPTCHA_TEST_MODE = True
    try:
        response = CommittingClient().post(STEP_1, {**TEACHER, **CAPTCHA_OK})
    finally:
        captcha_settings.CAPTCHA_TEST_MODE = False
    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_a_reset_ends_a_pending_email_change(client, teacher):
    signed_in = CommittingClient()
    sign_in(signed_in, "010300_teacher01", GOOD_PASSWORD)
    signed_in.post(
        "/me/email/",
        {
            "new_email": "evil@attacker.tw",
            "new_email2": "evil@attacker.tw",
            "password": GOOD_PASSWORD,
        },
    )
    link = re.search(r"/me/email/confirm/[^/\s]+/", mail.outbox[-2].body).group(0)
    ask(client)
    reset(client, code_in(mail.outbox[-1])[1])
    assert CommittingClient().post(link).status_code == 404
    teacher.refresh_from_db()
    assert teacher.email == "teacher01@school.edu.tw"


def test_a_confirmed_email_change_ends_codes_sent_to_the_old_address(client, teacher):
    ask(client)
    _prefix, code = code_in(mail.outbox[-1])
    signed_in = CommittingClient()
    sign_in(signed_in, "010300_teacher01", GOOD_PASSWORD)
    signed_in.post(
        "/me/email/",
        {"new_email": "lin@new.edu.tw", "new_email2": "lin@new.edu.tw", "password": GOOD_PASSWORD},
    )
    link = next(
        re.search(r"/me/email/confirm/[^/\s]+/", m.body)
        for m in mail.outbox
        if m.to == ["lin@new.edu.tw"]
    )
    signed_in.post(link.group(0))
    assert "驗證碼錯誤或已失效" in reset(client, code).content.decode()


# --- The same work in the request for a match and a miss (issue 13) ----------------------

MISSES = {
    "name": {"full_name": "林志明X"},
    "login name": {"username": "010300_nobody"},
    "e-mail": {"email": "someone.else@school.edu.tw"},
}


@pytest.mark.parametrize("miss", MISSES.values(), ids=list(MISSES))
def test_step_one_does_the_same_work_in_the_request_for_a_match_and_a_miss(teacher, miss):
    matched_visitor = Client()
    matched = work_in_request(STEP_1, {**TEACHER, **CAPTCHA_OK}, client=matched_visitor)
    missed = work_in_request(STEP_1, {**TEACHER, **miss, **CAPTCHA_OK})

    assert (matched.status, matched.location) == (missed.status, missed.location)
    assert matched.location == STEP_2
    assert matched.queries == missed.queries
    assert len(matched.callbacks) == len(missed.callbacks) == 1  # the hand-off to the task
    # Nothing of the match was done in the request: no code, no mail, no event.
    assert not PasswordResetCode.objects.exists()
    assert not SecurityEvent.objects.filter(kind="password_reset_requested").exists()

    matched.commit()
    missed.commit()
    (message,) = mail.outbox  # the eager task mailed the match only
    assert message.to == [teacher.email]
    prefix, code = code_in(message)
    page = matched_visitor.get(STEP_2)
    assert shown_prefix(page) == prefix  # made in the request, passed to the task
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert reset(matched_visitor, code).status_code == 302
    event = SecurityEvent.objects.get(kind="password_reset_requested")
    assert event.account == teacher and event.ip_address == "127.0.0.1"


def test_resend_does_the_same_work_in_the_request_for_a_match_and_a_miss(teacher):
    start = timezone.now()
    matched_visitor, missed_visitor = Client(), Client()
    with time_machine.travel(start, tick=False):
        work_in_request(STEP_1, {**TEACHER, **CAPTCHA_OK}, client=matched_visitor).commit()
        work_in_request(
            STEP_1, {**TEACHER, "full_name": "別人", **CAPTCHA_OK}, client=missed_visitor
        ).commit()
    assert len(mail.outbox) == 1
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        matched = work_in_request(STEP_2, {"action": "resend"}, client=matched_visitor)
        missed = work_in_request(STEP_2, {"action": "resend"}, client=missed_visitor)
        assert (matched.status, matched.location) == (missed.status, missed.location)
        assert matched.queries == missed.queries
        assert len(matched.callbacks) == len(missed.callbacks) == 1
        assert PasswordResetCode.objects.count() == 1  # the new code is the task's work
        matched.commit()
        missed.commit()
        assert len(mail.outbox) == 2 and mail.outbox[1].to == [teacher.email]
        new_prefix, new_code = code_in(mail.outbox[1])
        assert shown_prefix(matched_visitor.get(STEP_2)) == new_prefix
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert reset(matched_visitor, new_code).status_code == 302


def test_a_code_mailed_to_one_session_is_no_code_for_another_with_the_same_prefix(client, teacher):
    """The flow's secret ties a code to the session that asked: a miss for the same login
    name never reaches the match's code, even when its random prefix is the same."""
    ask(client)
    prefix, code = code_in(mail.outbox[-1])
    stranger = CommittingClient()
    ask(stranger, email="someone.else@school.edu.tw")
    session = stranger.session
    session["password_reset_flow"] = {**session["password_reset_flow"], "prefix": prefix}
    session.save()

    assert "驗證碼錯誤或已失效" in reset(stranger, code).content.decode()
    row = PasswordResetCode.objects.get()
    assert row.failed_attempts == 0 and row.used_at is None
    assert reset(client, code).status_code == 302


@pytest.mark.parametrize("miss", MISSES.values(), ids=list(MISSES))
def test_a_wrong_code_costs_the_same_work_whether_or_not_step_one_matched(teacher, miss):
    matched_visitor, missed_visitor = Client(), Client()
    work_in_request(STEP_1, {**TEACHER, **CAPTCHA_OK}, client=matched_visitor).commit()
    work_in_request(STEP_1, {**TEACHER, **miss, **CAPTCHA_OK}, client=missed_visitor).commit()
    _prefix, code = code_in(mail.outbox[-1])
    wrong = f"{(int(code) + 1) % 10**8:08d}"
    data = {"code": wrong, "new_password1": NEW, "new_password2": NEW, **CAPTCHA_OK}

    matched = work_in_request(STEP_2, data, client=matched_visitor)
    missed = work_in_request(STEP_2, data, client=missed_visitor)

    assert (matched.status, len(matched.callbacks)) == (missed.status, len(missed.callbacks))
    assert matched.queries == missed.queries
    assert PasswordResetCode.objects.get().failed_attempts == 1  # only the real code counts


@pytest.mark.live_services
@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="REDIS_URL is not set: the broker publications are counted on Redis (CI sets it)",
)
@pytest.mark.django_db(transaction=True)
def test_a_match_and_a_miss_each_publish_one_task_and_the_live_worker_mails_the_match(
    teacher, sink_factory, smtp_settings
):
    sink, port = sink_factory()
    smtp_settings(port)
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            published = []
            for person in (TEACHER, {**TEACHER, "email": "someone.else@school.edu.tw"}):
                with Publications() as publications:
                    response = Client().post(STEP_1, {**person, **CAPTCHA_OK})
                assert response.status_code == 302
                published.append(publications.names)
            deadline = time.monotonic() + 30
            while not sink.messages and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1)  # room for a wrong second mail to show up
    finally:
        celery_app.conf.task_always_eager = True
    assert published == [["accounts.tasks.send_password_reset_code_if_matching"]] * 2
    (envelope,) = sink.messages
    assert envelope.rcpt_tos == [teacher.email]


def test_a_wrong_code_after_a_step_one_naming_no_account_logs_only_a_hash_of_the_name(teacher):
    typed = "Secret#Typed-In-The-Name-Box"
    missed_visitor = CommittingClient()
    ask(missed_visitor, username=typed)
    reset(missed_visitor, "12345678")
    event = SecurityEvent.objects.get(kind="password_reset_code_failed")
    assert event.username.startswith("unknown:")
    assert typed.lower() not in event.username.lower()
    assert event.account is None


def test_a_wrong_code_after_a_step_one_naming_an_account_logs_that_login_name(client, teacher):
    ask(client, full_name="別人")  # the login name is an account's, the rest did not match
    reset(client, "12345678")
    event = SecurityEvent.objects.get(kind="password_reset_code_failed")
    assert event.username == "010300_teacher01"


# --- The tasks run twice or late (acks_late, a backlogged worker) -------------------------


def flow_of(client):
    from accounts.services.password_reset import ResetFlow

    return ResetFlow.from_session(client.session["password_reset_flow"])


def test_step_one_run_twice_for_one_flow_makes_one_code_and_one_mail(client, teacher):
    from accounts import tasks

    ask(client)
    flow = flow_of(client)
    tasks.send_password_reset_code_if_matching.apply(
        kwargs={**TEACHER, "prefix": flow.prefix, "flow_tag": flow.tag, "origin": {}}
    )
    assert PasswordResetCode.objects.count() == 1
    assert len(mail.outbox) == 1
    assert reset(client, code_in(mail.outbox[0])[1]).status_code == 302  # still the live one


def test_a_resend_run_twice_makes_one_new_code_and_one_mail(client, teacher):
    from accounts import tasks

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.post(STEP_2, {"action": "resend"})
        flow = flow_of(client)
        tasks.resend_password_reset_code_if_matching.apply(
            kwargs={"username": flow.username, "prefix": flow.prefix, "flow_tag": flow.tag}
        )
        assert len(mail.outbox) == 2
        assert PasswordResetCode.objects.filter(revoked_at=None).count() == 1
        assert reset(client, code_in(mail.outbox[1])[1]).status_code == 302


def test_a_resend_never_draws_the_prefix_it_replaces():
    """A re-run of a resend's task is told by its prefix, so a resend never repeats it."""
    from accounts.services.password_reset import _new_prefix

    assert all(_new_prefix(unlike="AB") != "AB" for _ in range(3000))


def test_a_resend_before_step_ones_task_ran_tries_again_later(teacher):
    from celery.exceptions import Retry

    from accounts import tasks

    task = tasks.resend_password_reset_code_if_matching
    typed = {"username": TEACHER["username"], "prefix": "AB", "flow_tag": "not-yet"}
    task.push_request(
        id="backlogged", is_eager=False, called_directly=False, retries=0, args=(), kwargs=typed
    )
    try:
        with pytest.raises(Retry) as retry:
            task.run(**typed)
    finally:
        task.pop_request()
    assert retry.value.when == tasks.RESEND_WAITS_FOR_STEP_ONE[0]
    assert mail.outbox == []


def test_a_flow_begun_before_the_session_secret_existed_starts_again_at_step_one(client, teacher):
    """Sessions from before the deploy that brought the flow's secret have none (README)."""
    session = client.session
    session["password_reset_flow"] = {
        "username": "010300_teacher01",
        "prefix": "AB",
        "sent_at": timezone.now().timestamp(),
    }
    session.save()
    response = client.get(STEP_2, follow=True)
    assert response.redirect_chain[-1][0] == STEP_1
    assert "請先填寫姓名、帳號與信箱" in response.content.decode()

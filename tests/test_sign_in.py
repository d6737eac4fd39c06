"""Signing in (SPEC section 3): captcha, case-insensitive names, the 3-strike lockout per login
name, pending and disabled accounts, sessions."""

import os
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from captcha.models import CaptchaStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, AccountSession, SecurityEvent
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, bind_two_factor, sign_in

pytestmark = pytest.mark.django_db

WRONG = "Wrong#Password-99x"


def failure_text(response) -> str:
    return response.content.decode()


def test_the_home_page_shows_the_login_box_beneath_the_announcements(client):
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "資料填報整合平臺與實名制管理系統" in page
    assert page.index("公告") < page.index('name="username"')
    for field in ('name="username"', 'name="password"', 'name="captcha_0"', 'name="captcha_1"'):
        assert field in page
    assert "[010300_myaccount] ○；[myaccount] ×" in page
    assert "更換驗證碼" in page


def test_it_signs_in_and_greets_the_account(client, holder):
    response = sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert "王小明您好" in home.content.decode()
    assert "國立示範高級中學" in home.content.decode()
    assert SecurityEvent.objects.filter(kind="sign_in_succeeded", account=holder).count() == 1


def test_login_names_are_matched_ignoring_case_and_full_width_characters(client, holder):
    assert sign_in(client, "010300_ADMIN01", GOOD_PASSWORD).status_code == 302
    client.post("/logout/")
    assert sign_in(client, " ０１０３００＿Ａｄｍｉｎ01 ", GOOD_PASSWORD).status_code == 302


def test_it_follows_a_safe_next_address_only(client, holder):
    response = sign_in(client, "010300_admin01", GOOD_PASSWORD, next="/admin/")
    assert response["Location"] == "/admin/"
    client.post("/logout/")
    response = sign_in(client, "010300_admin01", GOOD_PASSWORD, next="https://evil.example/")
    assert response["Location"] == "/"


def test_a_wrong_captcha_refuses_without_counting_a_failure(client, holder, real_captcha):
    response = client.post(
        "/login/",
        {
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": "x",
            "captcha_1": "000000",
        },
    )
    assert response.status_code == 200
    # No such captcha (never drawn, spent or swept): the person needs a new one (issue 16).
    assert "驗證碼已過期，請按「更換驗證碼」" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not SecurityEvent.objects.filter(kind="sign_in_failed").exists()


def test_the_real_captcha_is_six_digits_and_accepts_its_answer(client, holder, real_captcha):
    from captcha.models import CaptchaStore

    page = client.get("/login/").content.decode()
    key = page.split('name="captcha_0" value="')[1].split('"')[0]
    answer = CaptchaStore.objects.get(hashkey=key).response
    assert answer.isdigit() and len(answer) == 6
    response = client.post(
        "/login/",
        {
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": key,
            "captcha_1": answer,
        },
    )
    assert response.status_code == 302


def test_every_missing_field_is_reported_at_once_and_the_name_is_kept(client, real_captcha):
    response = client.post(
        "/login/", {"username": "010300_Someone", "password": "", "captcha_1": ""}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "請輸入密碼" in page
    assert "請輸入驗證碼" in page
    assert 'value="010300_Someone"' in page


def test_the_password_is_never_sent_back(client, holder):
    response = sign_in(client, "010300_admin01", WRONG)
    assert WRONG not in response.content.decode()
    assert 'value="010300_admin01"' in response.content.decode()


def test_each_failure_shows_the_count_so_far(client, holder):
    first = sign_in(client, "010300_admin01", WRONG)
    second = sign_in(client, "010300_admin01", WRONG)
    assert "帳號或密碼錯誤，次數達 3 次即鎖定，目前【1】" in failure_text(first)
    assert "帳號或密碼錯誤，次數達 3 次即鎖定，目前【2】" in failure_text(second)
    assert "尚未設定密碼" in failure_text(second)


def test_it_locks_after_three_failures_and_refuses_the_right_password(client, holder):
    for _ in range(3):
        response = sign_in(client, "010300_admin01", WRONG)
    assert "目前【3】" in failure_text(response)
    assert "已鎖定 15 分鐘" in failure_text(response)
    locked = sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert locked.status_code == 200
    assert "已鎖定" in failure_text(locked)
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind="locked_out", account=holder).count() == 1
    assert SecurityEvent.objects.filter(kind="sign_in_refused_locked", account=holder).count() == 1


def test_the_lock_lasts_fifteen_minutes_from_the_third_failure(client, holder):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            sign_in(client, "010300_admin01", WRONG)
    # Trying while locked neither counts nor extends the lock.
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert "已鎖定" in failure_text(sign_in(client, "010300_admin01", GOOD_PASSWORD))
    with time_machine.travel(start + timedelta(minutes=14, seconds=50), tick=False):
        assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 200
    with time_machine.travel(start + timedelta(minutes=15, seconds=10), tick=False):
        assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302


def test_a_success_resets_the_count(client, holder):
    sign_in(client, "010300_admin01", WRONG)
    sign_in(client, "010300_admin01", WRONG)
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    client.post("/logout/")
    assert "目前【1】" in failure_text(sign_in(client, "010300_admin01", WRONG))


def test_a_success_resets_only_that_names_count_however_it_was_typed(client, holder, teacher):
    sign_in(client, "010300_Admin01", WRONG)
    sign_in(client, "010300_teacher01", WRONG)
    assert sign_in(client, "010300_ADMIN01", GOOD_PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="010300_admin01").exists()
    assert AccessAttempt.objects.filter(username="010300_teacher01").exists()


def test_a_success_without_failures_has_nothing_to_reset(client, holder):
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "axes_accessattempt"')]
    assert deletes == []


def test_expired_attempts_are_swept_at_the_next_failure(client, holder, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "010300_teacher01", WRONG)
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
        assert AccessAttempt.objects.filter(username="010300_teacher01").exists()  # not here
        sign_in(Client(), "010300_admin01", WRONG)
    assert not AccessAttempt.objects.filter(username="010300_teacher01").exists()


def test_the_lock_is_per_login_name_not_per_address(client, holder, teacher):
    for _ in range(3):
        sign_in(client, "010300_admin01", WRONG)
    colleague = Client()  # same school, same address
    assert sign_in(colleague, "010300_teacher01", GOOD_PASSWORD).status_code == 302


def test_case_variants_of_a_name_share_one_counter(client, holder):
    sign_in(client, "010300_admin01", WRONG)
    sign_in(client, "010300_ADMIN01", WRONG)
    response = sign_in(client, "010300_Admin01", WRONG)
    assert "目前【3】" in failure_text(response)


def _normalized(response, name):
    """The page with the typed name, CSRF tokens and the one-off captcha key taken out."""
    page = response.content.decode().replace(name, "NAME")
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)
    return re.sub(r"[0-9a-f]{40}", "CAPTCHA-KEY", page)


def test_unknown_names_fail_exactly_like_known_ones(holder):
    known, unknown = Client(), Client()
    with time_machine.travel(timezone.now(), tick=False):  # same "locked until" minute
        _compare_three_failures(known, unknown)
    # and the unknown name is locked just the same
    assert "已鎖定" in failure_text(sign_in(unknown, "010300_nobody", GOOD_PASSWORD))


def _compare_three_failures(known, unknown):
    for _ in range(3):
        known_response = sign_in(known, "010300_admin01", WRONG)
        unknown_response = sign_in(unknown, "010300_nobody", WRONG)
        assert known_response.status_code == unknown_response.status_code == 200
        assert _normalized(known_response, "010300_admin01") == _normalized(
            unknown_response, "010300_nobody"
        )


def test_a_pending_account_fails_like_any_other_and_is_pointed_to_the_verification_mail(
    client, pending_main
):
    response = sign_in(client, "010300_admin01", "anything-at-all")
    assert "帳號或密碼錯誤" in failure_text(response)
    assert "尚未設定密碼" in failure_text(response)  # points to setting the password


def test_a_disabled_account_with_the_right_password_is_told_to_contact_its_holder(client, teacher):
    teacher.state = Account.State.DISABLED
    teacher.save(update_fields=["state"])
    response = sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert "此帳號已停用" in failure_text(response)
    assert "主帳號負責人" in failure_text(response)
    wrong = sign_in(Client(), "010300_teacher01", WRONG)
    assert "此帳號已停用" not in failure_text(wrong)
    assert "帳號或密碼錯誤" in failure_text(wrong)


def test_disabling_an_account_ends_its_open_session(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    teacher.state = Account.State.DISABLED
    teacher.save(update_fields=["state"])
    assert "林志明您好" not in client.get("/").content.decode()


def test_signing_in_rotates_the_session_key(client, holder):
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert client.session.session_key != before


def test_logout_is_post_only(client, holder):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind="signed_out", account=holder).exists()


def test_an_idle_session_ends_after_thirty_minutes(client, holder, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(client, "010300_admin01", GOOD_PASSWORD)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert "王小明您好" in client.get("/").content.decode()
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert "王小明您好" in client.get("/").content.decode()  # activity at 29 kept it alive
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        page = client.get("/").content.decode()
    assert "王小明您好" not in page
    assert "閒置超過 30 分鐘" in page
    assert SecurityEvent.objects.filter(kind="session_expired", account=holder).exists()


def test_the_sign_in_form_needs_a_csrf_token(holder):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/login/", {"username": "010300_admin01", "password": GOOD_PASSWORD, **CAPTCHA_OK}
    )
    assert response.status_code == 403
    assert "表單已過期" in response.content.decode()


def test_sign_in_events_record_address_and_browser(client, holder):
    client.post(
        "/login/",
        {"username": "010300_admin01", "password": WRONG, **CAPTCHA_OK},
        HTTP_USER_AGENT="Mozilla/5.0 TestBrowser",
    )
    event = SecurityEvent.objects.get(kind="sign_in_failed")
    assert event.account == holder
    assert event.ip_address == "127.0.0.1"
    assert "TestBrowser" in event.user_agent
    assert event.detail["failures"] == 1


def test_errors_and_help_are_tied_to_their_fields_for_screen_readers(client, real_captcha):
    page = client.post("/login/", {"username": "", "password": ""}).content.decode()
    assert 'aria-describedby="id_username_helptext id_username_error"' in page
    assert 'id="id_username_helptext"' in page
    assert 'id="id_username_error"' in page
    assert 'aria-invalid="true"' in page
    assert '<label for="id_captcha_1">' in page  # the visible captcha box, not the hidden key


def test_failures_from_different_browsers_and_addresses_count_together(holder):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        sign_in(Client(HTTP_USER_AGENT="Browser A"), "010300_admin01", WRONG)
    with time_machine.travel(start + timedelta(minutes=7), tick=False):
        response = sign_in(
            Client(HTTP_USER_AGENT="Browser B", REMOTE_ADDR="10.1.1.2"), "010300_admin01", WRONG
        )
        assert "目前【2】" in failure_text(response)
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        response = sign_in(Client(HTTP_USER_AGENT="Browser C"), "010300_admin01", WRONG)
        assert "目前【3】" in failure_text(response)
    # Locked for 15 minutes from the third failure, whichever browser asks.
    with time_machine.travel(start + timedelta(minutes=28), tick=False):
        assert (
            sign_in(
                Client(HTTP_USER_AGENT="Browser A"), "010300_admin01", GOOD_PASSWORD
            ).status_code
            == 200
        )
    with time_machine.travel(start + timedelta(minutes=29, seconds=10), tick=False):
        assert (
            sign_in(
                Client(HTTP_USER_AGENT="Browser B"), "010300_admin01", GOOD_PASSWORD
            ).status_code
            == 302
        )


def test_people_can_still_sign_in_when_redis_is_down(client, holder, settings):
    settings.CACHES = {
        **settings.CACHES,  # the fragments' cache is each process's own memory
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    assert "王小明您好" in client.get("/").content.decode()


def test_a_rotated_session_key_no_longer_opens_anything(client, holder):
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert not AccountSession.objects.filter(session_key=before).exists()


def test_a_sign_in_without_a_session_writes_the_session_once(client, holder):
    """Issue 8: one INSERT when the response goes out, not INSERT then UPDATE."""
    with CaptureQueriesContext(connection) as queries:
        response = sign_in(client, "010300_admin01", GOOD_PASSWORD)
    assert response.status_code == 302
    writes = [
        q["sql"].split()[0]
        for q in queries.captured_queries
        if "accounts_session" in q["sql"] and q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == ["INSERT"]
    assert client.get("/").status_code == 200 and "_auth_user_id" in client.session


def captcha_box(page: str) -> str:
    match = re.search(r'<input[^>]*name="captcha_1"[^>]*>', page)
    assert match, "the page has no captcha box"
    return match.group(0)


@pytest.mark.parametrize(
    "path",
    [
        "/login/",
        "/infosearch/",
        "/verify/resend/",
        "/password/forgot/",
        "/account/lookup/",
        "/apply/",
    ],
)
def test_a_wrong_captcha_is_tied_to_its_box_for_screen_readers(client, path):
    """WCAG 1.3.1 / 3.3.1: the captcha's error is announced with its box, as every other
    field's is (the box was drawn in a fieldset, which Django leaves undescribed)."""
    page = client.post(path, {"captcha_0": "no-such-key", "captcha_1": "123456"}).content
    page = page.decode()
    assert 'id="id_captcha_error"' in page
    box = captcha_box(page)
    assert 'aria-invalid="true"' in box
    assert "id_captcha_error" in re.search(r'aria-describedby="([^"]*)"', box).group(1)


def test_the_captcha_of_the_signed_in_and_link_pages_is_tied_to_its_error_too(client, holder):
    from accounts.services.set_password import issue_set_password_link
    from tests.conftest import LINK_PATTERN, make_account

    pending = make_account(holder.unit, "new01", password=None)
    token = LINK_PATTERN.search(issue_set_password_link(account=pending)).group(1)
    wrong = {"captcha_0": "no-such-key", "captcha_1": "123456"}
    pages = [client.post(f"/ckverifycode/{token}/", wrong).content.decode()]
    signed_in = Client()
    assert sign_in(signed_in, holder.username, GOOD_PASSWORD).status_code == 302
    pages.append(signed_in.post("/manage/accounts/new/", wrong).content.decode())
    for page in pages:
        assert 'id="id_captcha_error"' in page
        assert "id_captcha_error" in captcha_box(page)


def test_an_expired_captcha_fails_even_with_the_right_answer(client, holder, real_captcha):
    key = CaptchaStore.generate_key()
    store = CaptchaStore.objects.get(hashkey=key)
    CaptchaStore.objects.filter(pk=store.pk).update(
        expiration=timezone.now() - timedelta(seconds=1)
    )
    response = client.post(
        "/login/",
        {
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": key,
            "captcha_1": store.response,
        },
    )
    assert response.status_code == 200
    error = response.content.decode().split('id="id_captcha_error">')[1].split("</ul>")[0]
    assert "驗證碼已過期，請按「更換驗證碼」" in error
    assert "_auth_user_id" not in client.session


def test_a_captcha_answers_once_right_or_wrong(client, holder, real_captcha):
    key = CaptchaStore.generate_key()
    answer = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if answer != "000000" else "111111"
    form = {"username": "010300_admin01", "password": GOOD_PASSWORD, "captcha_0": key}
    client.post("/login/", {**form, "captcha_1": wrong})
    assert not CaptchaStore.objects.filter(hashkey=key).exists()
    again = client.post("/login/", {**form, "captcha_1": answer})
    assert "_auth_user_id" not in client.session
    error = again.content.decode().split('id="id_captcha_error">')[1].split("</ul>")[0]
    assert "驗證碼已過期，請按「更換驗證碼」" in error


# --- Parallel sign-ins (PostgreSQL) -----------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="parallel sign-ins need PostgreSQL's locks and a server (CI sets DATABASE_URL)",
)


def post_at_once(forms: list[dict]) -> list[int]:
    """Post each form to /login/ from its own browser and thread, all released together."""
    barrier = threading.Barrier(len(forms))
    statuses = []

    def run(form):
        try:
            browser = Client()
            barrier.wait()
            statuses.append(browser.post("/login/", form).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_parallel_wrong_passwords_gets_only_the_tries_left(client, holder):
    wrong = {"username": "010300_admin01", "password": WRONG, **CAPTCHA_OK}
    for _ in range(2):
        client.post("/login/", wrong)
    statuses = post_at_once([wrong] * 10)
    assert statuses == [200] * 10
    events = SecurityEvent.objects.filter(account=holder)
    assert events.filter(kind="sign_in_failed").count() == 3  # 2 before, exactly 1 more
    assert events.filter(kind="sign_in_refused_locked").count() == 9
    assert events.filter(kind="locked_out").count() == 1
    attempts = AccessAttempt.objects.filter(username="010300_admin01").get()
    assert attempts.failures_since_start == 3


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_wrong_passwords_and_wrong_codes_gets_only_the_tries_left(holder):
    """The password step and the code step of one name share one lock: a mixed burst after
    two failures gets exactly one more try, whichever step it comes through."""
    bind_two_factor(holder)
    wrong = {"username": "010300_admin01", "password": WRONG, **CAPTCHA_OK}
    right = {**wrong, "password": GOOD_PASSWORD}
    pending = []  # browsers at the code step (the right password resets the count)
    for _ in range(5):
        browser = Client()
        assert browser.post("/login/", right).url.startswith("/login/two-factor/")
        pending.append(browser)
    for _ in range(2):
        Client().post("/login/", wrong)
    code = {"code": "000000", "account": "010300_admin01"}
    posts = [(Client(), "/login/", wrong) for _ in range(5)]
    posts += [(browser, "/login/two-factor/", code) for browser in pending]

    statuses = post_at_once_from(posts)

    assert statuses == [200] * 10
    events = SecurityEvent.objects.filter(account=holder)
    failures = events.filter(kind__in=["sign_in_failed", "two_factor_failed"]).count()
    assert failures == 3  # 2 before, exactly 1 more
    assert events.filter(kind="locked_out").count() == 1
    attempts = AccessAttempt.objects.filter(username="010300_admin01").get()
    assert attempts.failures_since_start == 3


def post_at_once_from(posts: list[tuple]) -> list[int]:
    """Post each (browser, path, form) from its own thread, all released together."""
    barrier = threading.Barrier(len(posts))
    statuses = []

    def run(browser, path, form):
        try:
            barrier.wait()
            statuses.append(browser.post(path, form).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=post) for post in posts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_captcha_posted_five_times_at_once_passes_once(holder, real_captcha):
    key = CaptchaStore.generate_key()
    answer = CaptchaStore.objects.get(hashkey=key).response
    forms = [
        {
            "username": f"010300_guess{index}",
            "password": WRONG,
            "captcha_0": key,
            "captcha_1": answer,
        }
        for index in range(5)
    ]
    assert post_at_once(forms) == [200] * 5
    # Only a post whose captcha passed reaches the password check (and the event log).
    assert SecurityEvent.objects.filter(kind="sign_in_failed").count() == 1
    assert not CaptchaStore.objects.filter(hashkey=key).exists()


# --- What the log keeps of a name that matches no account ------------------------------------


def test_a_name_that_matches_no_account_is_kept_only_as_a_keyed_hash(client, holder):
    typed = "Harbor#Lantern-Tide82"  # a password typed into the name box
    client.post("/login/", {"username": typed, "password": "x", **CAPTCHA_OK})
    event = SecurityEvent.objects.get(kind="sign_in_failed")
    attempt = AccessAttempt.objects.get()
    assert event.username.startswith("unknown:") and attempt.username == event.username
    stored = [event.username, str(event.detail), attempt.username, attempt.post_data]
    stored += [attempt.get_data, attempt.path_info]
    assert not any(typed.lower() in text.lower() for text in stored)


def test_a_name_that_matches_no_account_still_locks_after_three_failures(client, holder):
    typed = {"username": "010300_nobody", "password": WRONG, **CAPTCHA_OK}
    for failures in (1, 2, 3):
        assert f"目前【{failures}】" in failure_text(client.post("/login/", typed))
    assert "此帳號已鎖定 15 分鐘" in failure_text(client.post("/login/", typed))
    assert AccessAttempt.objects.get().failures_since_start == 3
    # Another unknown name has a counter of its own.
    other = {**typed, "username": "010300_someone"}
    assert "目前【1】" in failure_text(client.post("/login/", other))


def test_a_real_login_name_is_kept_in_the_clear_for_the_helpdesk(client, holder):
    client.post("/login/", {"username": "010300_ADMIN01", "password": WRONG, **CAPTCHA_OK})
    assert AccessAttempt.objects.get().username == "010300_admin01"
    assert SecurityEvent.objects.get(kind="sign_in_failed").username == "010300_admin01"

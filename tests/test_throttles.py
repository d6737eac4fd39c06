"""Rate limits on public forms and code checks, per key and per address, in the cache."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import throttles
from accounts.models import SecurityEvent
from tests.conftest import CAPTCHA_OK, CommittingClient

pytestmark = pytest.mark.django_db

TEACHER = {
    "full_name": "林志明",
    "username": "010300_teacher01",
    "email": "teacher01@school.edu.tw",
}


def forgot(client, forwarded_for=None, **person):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    return client.post("/password/forgot/", {**TEACHER, **person, **CAPTCHA_OK}, **headers)


def test_one_login_name_gets_five_codes_an_hour_then_a_clear_page(client, teacher):
    for _ in range(5):
        assert forgot(client).status_code == 302
    response = forgot(client)
    assert response.status_code == 429
    assert "操作太頻繁" in response.content.decode()
    assert len(mail.outbox) == 5
    assert SecurityEvent.objects.filter(kind="throttled").count() == 1


def test_one_address_is_limited_across_login_names(client, teacher):
    for index in range(30):
        assert forgot(client, username=f"010300_someone{index}").status_code == 302
    assert forgot(client).status_code == 429
    other_address = CommittingClient(REMOTE_ADDR="10.0.0.9")
    assert forgot(other_address).status_code == 302


def test_the_limit_lifts_after_the_hour(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(6):
            forgot(client)
        assert forgot(client).status_code == 429
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert forgot(client).status_code == 302


def test_code_checks_are_limited_per_login_name(client, teacher):
    forgot(client)
    data = {"code": "00000000", "new_password1": "x", "new_password2": "y", **CAPTCHA_OK}
    for _ in range(15):
        assert client.post("/password/forgot/code/", data).status_code == 200
    assert client.post("/password/forgot/code/", data).status_code == 429


def test_sign_in_is_limited_per_address(client, teacher, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    for index in range(3):
        data = {"username": f"010300_x{index}", "password": "nope", **CAPTCHA_OK}
        assert client.post("/login/", data).status_code == 200
    response = client.post(
        "/login/", {"username": "010300_teacher01", "password": "nope", **CAPTCHA_OK}
    )
    assert response.status_code == 429


def test_the_address_behind_a_trusted_proxy_is_the_one_counted(client, teacher, settings):
    settings.PROXY_COUNT = 1
    for index in range(30):
        forgot(client, username=f"010300_someone{index}", forwarded_for="203.0.113.7")
    assert forgot(client, forwarded_for="203.0.113.7").status_code == 429
    # Another school behind the same proxy is not affected.
    assert forgot(client, forwarded_for="198.51.100.3").status_code == 302
    event = SecurityEvent.objects.filter(kind="throttled").first()
    assert event.ip_address == "203.0.113.7"


WRONG_CAPTCHA = {"captcha_0": "test", "captcha_1": "000000"}


def test_wrong_captcha_posts_do_not_use_up_an_addresss_sign_in_limit(client, teacher, monkeypatch):
    from tests.conftest import GOOD_PASSWORD

    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    junk = {"username": "010300_teacher01", "password": "nope", **WRONG_CAPTCHA}
    for _ in range(20):
        response = client.post("/login/", junk)
        assert response.status_code == 200 and "驗證碼已過期" in response.content.decode()
    response = client.post(
        "/login/", {"username": "010300_teacher01", "password": GOOD_PASSWORD, **CAPTCHA_OK}
    )
    assert response.status_code == 302
    assert not SecurityEvent.objects.filter(kind="throttled").exists()


PUBLIC_FORMS = [
    ("/password/forgot/", "password-forgot", TEACHER),
    ("/verify/resend/", "verify-resend", TEACHER),
    ("/account/lookup/", "account-lookup", {"code": "010300", "email": TEACHER["email"]}),
    ("/infosearch/", "holder-lookup", {"code": "010300"}),
]


@pytest.mark.parametrize(("path", "scope", "fields"), PUBLIC_FORMS)
def test_wrong_captcha_posts_do_not_use_up_a_public_forms_address_limit(
    client, teacher, monkeypatch, path, scope, fields
):
    monkeypatch.setitem(throttles.LIMITS, scope, [("ip", "2/h")])
    for _ in range(10):
        assert client.post(path, {**fields, **WRONG_CAPTCHA}).status_code == 200
    assert client.post(path, {**fields, **CAPTCHA_OK}).status_code != 429
    assert client.post(path, {**fields, **CAPTCHA_OK}).status_code != 429
    assert client.post(path, {**fields, **CAPTCHA_OK}).status_code == 429  # still limited


def test_wrong_captcha_posts_do_not_use_up_the_application_forms_address_limit(
    client, school, other_school, monkeypatch
):
    monkeypatch.setitem(throttles.LIMITS, "main-account-apply", [("ip", "1/h")])
    application = {
        "unit_name": "學校",
        "local_part": "secretary",
        "full_name": "黃淑芬",
        "title": "秘書",
        "office": "秘書室",
        "phone": "049-2910960#3001",
        "email": "huang@school.edu.tw",
    }
    for _ in range(10):
        post = {"code": "010300", **application, **WRONG_CAPTCHA}
        assert client.post("/apply/", post).status_code == 200
    post = {"code": "010300", **application, **CAPTCHA_OK}
    assert client.post("/apply/", post).status_code == 302
    post = {"code": "010301", **application, **CAPTCHA_OK}
    assert client.post("/apply/", post).status_code == 429


def test_wrong_captcha_posts_do_not_use_up_the_reset_code_pages_address_limit(
    client, teacher, monkeypatch
):
    monkeypatch.setitem(throttles.LIMITS, "password-code", [("ip", "2/h")])
    forgot(client)
    data = {"code": "00000000", "new_password1": "x", "new_password2": "y"}
    for _ in range(10):
        assert client.post("/password/forgot/code/", {**data, **WRONG_CAPTCHA}).status_code == 200
    for _ in range(2):
        assert client.post("/password/forgot/code/", {**data, **CAPTCHA_OK}).status_code == 200
    assert client.post("/password/forgot/code/", {**data, **CAPTCHA_OK}).status_code == 429


@pytest.mark.parametrize(
    "forwarded", ["not-an-ip", "203.0.113.7'; DROP TABLE x", "999.1.1.1", "<script>"]
)
def test_a_forwarded_address_that_is_no_address_still_counts_and_locks(
    client, teacher, settings, forwarded
):
    """Junk in X-Forwarded-For (a client that reached the port directly) must not break the
    sign-in's writes: on PostgreSQL the log's address column refuses it, which rolled back
    the lockout count with it, so guesses were never counted. The connection's own address
    is taken instead."""
    settings.PROXY_COUNT = 1
    for _ in range(3):
        response = client.post(
            "/login/",
            {"username": teacher.username, "password": "Wrong#Guess-1", **CAPTCHA_OK},
            HTTP_X_FORWARDED_FOR=forwarded,
            REMOTE_ADDR="172.18.0.5",
        )
        assert response.status_code == 200
    assert "此帳號已鎖定 15 分鐘" in response.content.decode()
    failed = SecurityEvent.objects.filter(kind="sign_in_failed")
    assert failed.count() == 3
    assert {event.ip_address for event in failed} == {"172.18.0.5"}


@pytest.mark.parametrize(
    ("forwarded", "logged"),
    [
        ("203.0.113.7:4711", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
    ],
)
def test_a_forwarded_address_with_a_port_is_logged_without_it(
    client, teacher, settings, forwarded, logged
):
    settings.PROXY_COUNT = 1
    client.post(
        "/login/",
        {"username": teacher.username, "password": "Wrong#Guess-1", **CAPTCHA_OK},
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="172.18.0.5",
    )
    assert SecurityEvent.objects.get(kind="sign_in_failed").ip_address == logged


def test_behind_one_proxy_the_sign_in_is_counted_and_logged_per_forwarded_client(
    client, teacher, settings, monkeypatch
):
    from tests.conftest import GOOD_PASSWORD

    settings.PROXY_COUNT = 1
    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    proxy = {"REMOTE_ADDR": "172.18.0.5"}
    for index in range(3):
        data = {"username": f"010300_x{index}", "password": "nope", **CAPTCHA_OK}
        client.post("/login/", data, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    refused = client.post(
        "/login/",
        {"username": "010300_x9", "password": "nope", **CAPTCHA_OK},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        **proxy,
    )
    assert refused.status_code == 429
    # A teacher of another school behind the same proxy signs in.
    response = client.post(
        "/login/",
        {"username": "010300_teacher01", "password": GOOD_PASSWORD, **CAPTCHA_OK},
        HTTP_X_FORWARDED_FOR="198.51.100.3",
        **proxy,
    )
    assert response.status_code == 302
    failed = SecurityEvent.objects.filter(kind="sign_in_failed")
    assert {event.ip_address for event in failed} == {"203.0.113.7"}
    signed_in = SecurityEvent.objects.get(kind="sign_in_succeeded")
    assert signed_in.ip_address == "198.51.100.3"


def test_the_compose_stack_counts_the_one_proxy_in_front_of_it():
    """docker-compose.yml: the portal sits behind one TLS proxy that appends the visitor's
    address to X-Forwarded-For; without PROXY_COUNT everyone would share the proxy's."""
    from pathlib import Path

    compose = (Path(__file__).parent.parent / "docker-compose.yml").read_text()
    portal_env = compose[compose.index("x-portal-env:") : compose.index("x-portal-app:")]
    assert re.search(r"^  PROXY_COUNT: \$\{PROXY_COUNT:-1\}$", portal_env, re.MULTILINE)
    assert re.search(r'^  BEHIND_TLS_PROXY: "true"$', portal_env, re.MULTILINE)
    assert "environment: *portal-env" in compose  # shared by web, worker and beat


def test_a_flood_of_refused_requests_writes_one_security_event(client, teacher, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    data = {"username": "010300_teacher01", "password": "nope", **CAPTCHA_OK}
    with time_machine.travel(timezone.now(), tick=False):  # all within one window
        for _ in range(3):
            assert client.post("/login/", data).status_code == 200
        for _ in range(20):
            assert client.post("/login/", data).status_code == 429
        assert SecurityEvent.objects.filter(kind="throttled").count() == 1


def test_a_refused_request_is_logged_again_in_the_next_window(client, teacher, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "3/15m")])
    data = {"username": "010300_teacher01", "password": "nope", **CAPTCHA_OK}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            client.post("/login/", data)
        assert SecurityEvent.objects.filter(kind="throttled").count() == 1
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        for _ in range(5):
            client.post("/login/", data)
        assert SecurityEvent.objects.filter(kind="throttled").count() == 2


def test_with_the_cache_circuit_open_a_skipped_limit_is_logged_in_one_line_without_traceback(
    client, teacher, settings, caplog
):
    from portal import breaker

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "portal.cache.PortalRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    breaker.cache.failed(ConnectionError("Redis went away"))  # open: Redis is not called
    caplog.set_level("WARNING", logger="accounts.throttles")
    for _ in range(2):
        data = {"username": "010300_teacher01", "password": "nope", **CAPTCHA_OK}
        assert client.post("/login/", data).status_code == 200
    skipped = [r for r in caplog.records if r.name == "accounts.throttles"]
    assert len(skipped) == 2  # one line per skipped count
    assert all(r.exc_info is None for r in skipped)
    assert all("circuit open" in r.getMessage() for r in skipped)

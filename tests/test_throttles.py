"""Rate limits on public forms and code checks, per key and per address, in the cache."""

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

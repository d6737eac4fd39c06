"""Rate limits count only well-formed submissions, and every "too many" page says when to try
again (issue 16, point 7). A teacher who mistypes an e-mail address six times, or a whole
school behind one address filling in /apply/ with typos, must not run out of tries."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import throttles
from schools.models import MainAccountApplication
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, sign_in

WHEN = re.compile(r"請於 (\d\d:\d\d) 後再試（大約 (\d+) 分鐘後）")


@pytest.fixture
def signed_in(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    return client


def change_email(client, first, second, password=GOOD_PASSWORD):
    return client.post(
        "/me/email/", {"new_email": first, "new_email2": second, "password": password}
    )


def test_six_mistyped_addresses_do_not_use_up_the_e_mail_change_limit(signed_in, teacher):
    allowed = int(dict(throttles.LIMITS["email-change"])["key"].split("/")[0])
    typos = [
        ("lin@school", "lin@school"),
        ("lin@school.edu.tw", "lin@schoo.edu.tw"),
        ("lin school.edu.tw", "lin school.edu.tw"),
        ("lin@@school.edu.tw", "lin@@school.edu.tw"),
        ("", "lin@school.edu.tw"),
        (teacher.email, teacher.email),  # the address it already has
    ]
    assert len(typos) > allowed
    for first, second in typos:
        assert change_email(signed_in, first, second).status_code == 200

    response = change_email(signed_in, "lin.new@school.edu.tw", "lin.new@school.edu.tw")

    assert response.status_code == 302


def test_mistyped_new_passwords_do_not_use_up_the_password_change_limit(signed_in):
    allowed = int(dict(throttles.LIMITS["password-change"])["key"].split("/")[0])
    for _ in range(allowed + 2):
        response = signed_in.post(
            "/me/password/",
            {
                "old_password": GOOD_PASSWORD,
                "new_password1": OTHER_GOOD_PASSWORD,
                "new_password2": OTHER_GOOD_PASSWORD + "x",  # the two boxes differ
            },
        )
        assert response.status_code == 200

    response = signed_in.post(
        "/me/password/",
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": OTHER_GOOD_PASSWORD,
            "new_password2": OTHER_GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302


APPLICATION = {
    "unit_name": "國立示範高級中學",
    "local_part": "secretary",
    "full_name": "黃淑芬",
    "title": "秘書",
    "office": "秘書室",
    "phone": "049-2910960#3001",
    "email": "huang@school.edu.tw",
}


def test_a_school_behind_one_address_does_not_exhaust_apply_with_typos(client, school):
    allowed = int(dict(throttles.LIMITS["main-account-apply"])["ip"].split("/")[0])
    typos = [
        {"phone": "abc"},
        {"email": "huang@school"},
        {"local_part": "-."},
        {"full_name": ""},
        {"code": "01030"},
    ]
    for n in range(allowed * 2):
        post = {"code": "010300", **APPLICATION, **typos[n % len(typos)], **CAPTCHA_OK}
        assert client.post("/apply/", post).status_code == 200

    response = client.post("/apply/", {"code": "010300", **APPLICATION, **CAPTCHA_OK})

    assert response.status_code == 302
    assert MainAccountApplication.objects.count() == 1


@pytest.mark.parametrize(
    ("path", "scope", "typo"),
    [
        ("/verify/resend/", "verify-resend", {"email": "lin@school"}),
        ("/password/forgot/", "password-forgot", {"full_name": ""}),
        ("/account/lookup/", "account-lookup", {"email": "lin@"}),
    ],
)
def test_typos_on_the_public_forms_use_up_nothing(client, teacher, monkeypatch, path, scope, typo):
    fields = {
        "full_name": "林志明",
        "username": "010300_teacher01",
        "code": "010300",
        "email": teacher.email,
    }
    monkeypatch.setitem(throttles.LIMITS, scope, [("ip", "2/h"), ("key", "2/h")])
    for _ in range(6):
        assert client.post(path, {**fields, **typo, **CAPTCHA_OK}).status_code == 200

    assert client.post(path, {**fields, **CAPTCHA_OK}).status_code == 302


def test_a_sign_in_without_a_password_uses_up_nothing(client, teacher, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "sign-in", [("ip", "2/15m")])
    for _ in range(5):
        post = {"username": "010300_teacher01", "password": "", **CAPTCHA_OK}
        assert client.post("/login/", post).status_code == 200

    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302


def test_the_too_many_page_says_when_to_try_again(client, teacher, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "password-forgot", [("ip", "1/h")])
    person = {"full_name": "林志明", "username": "010300_teacher01", "email": teacher.email}
    with time_machine.travel(timezone.now(), tick=False):
        client.post("/password/forgot/", {**person, **CAPTCHA_OK})
        response = client.post("/password/forgot/", {**person, **CAPTCHA_OK})

        assert response.status_code == 429
        wait = int(response["Retry-After"])
        assert 0 < wait <= 3600
        at, minutes = WHEN.search(response.content.decode()).groups()
        expected = timezone.localtime() + timedelta(seconds=wait)
        assert at == expected.strftime("%H:%M")
        assert int(minutes) == -(-wait // 60)


def test_the_too_many_page_of_a_signed_in_limit_says_when_too(signed_in, monkeypatch):
    monkeypatch.setitem(throttles.LIMITS, "email-change", [("key", "1/h")])
    change_email(signed_in, "a.new@school.edu.tw", "a.new@school.edu.tw")

    response = change_email(signed_in, "b.new@school.edu.tw", "b.new@school.edu.tw")

    assert response.status_code == 429
    assert WHEN.search(response.content.decode())

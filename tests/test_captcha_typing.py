"""The captcha as teachers type it (issue 16, point 4): digits in full width (a Chinese input
method left in full-width mode) and with spaces are the same digits; a captcha whose time ran
out says so, and what to do."""

from datetime import timedelta

import pytest
import time_machine
from captcha.models import CaptchaStore
from django.conf import settings
from django.utils import timezone

from tests.conftest import GOOD_PASSWORD

EXPIRED = "驗證碼已過期，請按「更換驗證碼」"
WRONG = "驗證碼不正確"

pytestmark = pytest.mark.usefixtures("real_captcha")


def captcha_error(page: str) -> str:
    """The message tied to the captcha box (the page also holds the note the browser shows
    once the picture expires, hidden until then)."""
    if 'id="id_captcha_error"' not in page:
        return ""
    return page.split('id="id_captcha_error">')[1].split("</ul>")[0]


def captcha_on(page: str) -> tuple[str, str]:
    key = page.split('name="captcha_0" value="')[1].split('"')[0]
    return key, CaptchaStore.objects.get(hashkey=key).response


def full_width(digits: str) -> str:
    return "".join(chr(ord(d) - ord("0") + ord("０")) for d in digits)


def sign_in_with(client, answer_of):
    key, answer = captcha_on(client.get("/login/").content.decode())
    return client.post(
        "/login/",
        {
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": key,
            "captcha_1": answer_of(answer),
        },
    )


@pytest.mark.parametrize(
    "typed",
    [
        full_width,
        lambda answer: f"{answer[:3]} {answer[3:]}",
        lambda answer: " ".join(answer),
        lambda answer: f"\u3000{full_width(answer[:3])}\u3000{answer[3:]} ",
    ],
    ids=["full width", "spaced in two", "spaced out", "ideographic spaces, mixed"],
)
def test_the_captcha_accepts_full_width_digits_and_spaces(client, holder, typed):
    response = sign_in_with(client, typed)

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_the_captcha_box_has_room_for_spaces(client, db):
    page = client.get("/login/").content.decode()
    box = (
        page.split('name="captcha_1"')[0].rsplit("<input", 1)[1]
        + page.split('name="captcha_1"')[1].split(">")[0]
    )

    assert 'maxlength="20"' in box
    assert "pattern=" not in box


def test_a_wrong_answer_is_still_wrong(client, holder):
    response = sign_in_with(client, lambda answer: str((int(answer) + 1) % 10**6).zfill(6))

    error = captcha_error(response.content.decode())
    assert response.status_code == 200
    assert WRONG in error
    assert EXPIRED not in error


def test_an_expired_captcha_says_it_expired_and_what_to_do(client, holder):
    key, answer = captcha_on(client.get("/login/").content.decode())
    later = timezone.now() + timedelta(minutes=settings.CAPTCHA_TIMEOUT, seconds=1)

    with time_machine.travel(later):
        response = client.post(
            "/login/",
            {
                "username": "010300_admin01",
                "password": GOOD_PASSWORD,
                "captcha_0": key,
                "captcha_1": answer,
            },
        )

        error = captcha_error(response.content.decode())
        assert response.status_code == 200
        assert EXPIRED in error
        assert WRONG not in error
        assert not CaptchaStore.objects.filter(hashkey=key).exists()  # spent all the same


def test_a_captcha_already_spent_by_an_earlier_post_says_to_get_a_new_one(client, holder):
    key, answer = captcha_on(client.get("/login/").content.decode())
    post = {"username": "010300_admin01", "password": "Wrong#Password-99x"}
    client.post("/login/", {**post, "captcha_0": key, "captcha_1": answer})

    response = client.post("/login/", {**post, "captcha_0": key, "captcha_1": answer})

    assert EXPIRED in captcha_error(response.content.decode())


def test_the_page_knows_when_its_picture_expires(client, db):
    page = client.get("/login/").content.decode()

    assert f'data-captcha-timeout="{settings.CAPTCHA_TIMEOUT * 60}"' in page
    assert EXPIRED in page  # the note the page shows once that time has passed

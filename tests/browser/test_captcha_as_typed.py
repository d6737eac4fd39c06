"""The captcha in a real Chromium as teachers type it (issue 16, point 4): digits in full
width with spaces sign in; the page says when the picture has expired, and a new picture
takes the note away."""

import pytest
from captcha.models import CaptchaStore

from tests.browser.conftest import SCREENSHOTS
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def full_width(digits):
    return "".join(chr(ord(d) - ord("0") + ord("０")) for d in digits)


def test_a_teacher_types_the_captcha_in_full_width_with_a_space_and_signs_in(
    live_server, page, screenshot, school, real_captcha
):
    make_account(school, "teacher01", full_name="林志明")
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    key = page.locator('input[name="captcha_0"]').input_value()
    answer = CaptchaStore.objects.get(hashkey=key).response
    page.fill('input[name="captcha_1"]', f"{full_width(answer[:3])} {full_width(answer[3:])}")
    screenshot("71-captcha-full-width")
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert "林志明您好" in page.content()


def test_the_page_says_when_the_captcha_has_expired(live_server, page, settings, real_captcha):
    settings.CAPTCHA_TIMEOUT = 0.05  # minutes: the page's clock only (3 seconds)
    page.goto(live_server.url + "/login/")
    note = page.locator("[data-captcha-expired]")
    assert not note.is_visible()

    note.wait_for(state="visible", timeout=10_000)
    assert note.inner_text() == "驗證碼已過期，請按「更換驗證碼」。"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".login-card").screenshot(path=str(SCREENSHOTS / "72-captcha-expired.png"))

    old = page.locator('input[name="captcha_0"]').input_value()
    page.click("text=更換驗證碼")
    key = page.locator('input[name="captcha_0"]')
    for _ in range(50):  # the new picture's key arrives (no eval: the page's CSP forbids it)
        if key.input_value() != old:
            break
        page.wait_for_timeout(100)
    assert key.input_value() != old
    assert not note.is_visible()

"""A two-factor code used moments ago, in a real Chromium (issue 16, point 5): the teacher
signs in at one computer, then at another within the same 30 seconds with the code the app
still shows. The second is told the code was just used and to wait for the next one; it is
not counted as a mistake."""

import time
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.utils import timezone

from accounts.lockout import lock_state
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, bind_two_factor, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def password_step(page, live_server):
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    page.fill('input[name="captcha_1"]', CAPTCHA_OK["captcha_1"])
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/login/two-factor/")


def test_a_second_sign_in_with_the_same_code_is_told_to_wait(
    live_server, browser, screenshot, page, school
):
    teacher = make_account(school, "teacher01", full_name="林志明")
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        secret = bind_two_factor(teacher)  # its code was an older step's
    if time.time() % 30 > 25:  # both sign-ins within one 30-second step
        time.sleep(30 - time.time() % 30 + 0.5)
    code = pyotp.TOTP(secret).now()

    password_step(page, live_server)
    page.fill("#id_code", code)
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    other = browser.new_context(locale="zh-TW", viewport={"width": 1200, "height": 900})
    second = other.new_page()
    password_step(second, live_server)
    second.fill("#id_code", code)
    second.click("main form button[type=submit]")
    second.wait_for_selector(".error-summary")

    assert second.url == live_server.url + "/login/two-factor/"
    summary = second.locator(".error-summary").inner_text()
    assert "這組驗證碼剛用過，請等下一組" in summary
    assert "目前【" not in summary
    assert lock_state(teacher.username).failures == 0
    second.screenshot(path=str(screenshot("81-code-just-used").parent / "81-code-just-used.png"))
    other.close()

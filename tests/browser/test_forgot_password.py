"""Forgot password in a real Chromium: from the login page, through the code mail, to a
sign-in with the new password."""

import re

import pytest
from django.core import mail

from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Sunrise!Bamboo-Ferry64"


def test_a_teacher_resets_a_forgotten_password_with_the_mailed_code(
    live_server, page, screenshot, school, real_captcha
):
    make_account(school, "teacher01", full_name="林志明", email="teacher01@school.edu.tw")
    page.goto(live_server.url + "/")
    page.click("text=忘記密碼")
    page.fill("#id_full_name", "林志明")
    page.fill("#id_username", "010300_Teacher01")
    page.fill("#id_email", "teacher01@school.edu.tw")
    solve_captcha(page)
    screenshot("11-forgot-step-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/password/forgot/code/")

    prefix, code = re.search(r"\b([A-Z]{2})-(\d{8})\b", mail.outbox[-1].body).groups()
    assert page.locator(".code-prefix strong").inner_text() == prefix
    screenshot("12-forgot-step-2")

    # A wrong code first: the page says so, keeps the prefix, and asks again.
    page.fill("#id_code", "00000000" if code != "00000000" else "11111111")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    solve_captcha(page)
    page.click("form:not(.resend-form) button[type=submit]")
    assert "驗證碼錯誤或已失效" in page.content()
    screenshot("13-forgot-wrong-code")

    page.fill("#id_code", code)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    solve_captcha(page)
    page.click("form:not(.resend-form) button[type=submit]")
    page.wait_for_url(f"{live_server.url}/login/")
    assert "密碼已重設" in page.content()
    assert page.locator("#id_username").input_value() == "010300_teacher01"

    page.fill("#id_password", NEW_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "林志明您好" in page.content()
    screenshot("14-signed-in-after-reset")

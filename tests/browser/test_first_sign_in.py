"""A main-account holder's first sign-in in a real Chromium: the link from the mail, the
password, the captcha as a person reads it, the home page."""

import pytest
from captcha.models import CaptchaStore
from django.core import mail

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from tests.conftest import GOOD_PASSWORD, LINK_PATTERN

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def solve_captcha(page):
    """Read the answer of the captcha on the page (what a person reads off the image)."""
    key = page.locator('input[name="captcha_0"]').input_value()
    page.fill('input[name="captcha_1"]', CaptchaStore.objects.get(hashkey=key).response)


def test_a_main_account_holder_sets_a_password_from_the_mail_and_signs_in(
    live_server,
    settings,
    page,
    screenshot,
    school,
    django_capture_on_commit_callbacks,
    real_captcha,
):
    settings.PORTAL_BASE_URL = live_server.url
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=school,
            local_part="admin01",
            profile=Profile(
                "王小明", "教務處", "教務主任", "049-2910960#3765", "wang@school.edu.tw"
            ),
        )
    link = LINK_PATTERN.search(mail.outbox[-1].body).group(0)

    page.goto(link)
    assert "王小明您好" in page.content()
    screenshot("01-set-password")

    # A weak password first: every broken rule is listed, nothing typed is kept.
    page.fill("#id_new_password1", "abcd1234")
    page.fill("#id_new_password2", "abcd1234")
    solve_captcha(page)
    page.click("button[type=submit]")
    assert "密碼長度至少需要 8 個字元" not in page.content()
    assert "鍵盤或字母順序" in page.content()
    screenshot("02-set-password-refused")

    page.fill("#id_new_password1", GOOD_PASSWORD)
    page.wait_for_function("document.querySelector('.strength').dataset.level === '3'")
    page.fill("#id_new_password2", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/login/")
    assert "密碼設定完成" in page.content()
    assert page.locator("#id_username").input_value() == "010300_admin01"
    screenshot("03-login")

    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "王小明您好" in page.content()
    assert "國立示範高級中學" in page.content()
    screenshot("04-home")

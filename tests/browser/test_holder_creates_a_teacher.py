"""A main-account holder creates a sub-account in a real Chromium; the teacher sets the
password from the mail link and signs in."""

import pytest
from django.core import mail

from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import GOOD_PASSWORD, LINK_PATTERN, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEACHER_PASSWORD = "Sunrise!Bamboo-Ferry64"


def sign_in_as(page, base, username, password):
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(base + "/")


def test_the_holder_creates_a_teacher_who_sets_a_password_and_signs_in(
    live_server, settings, open_page, viewport, screenshot, page, school, real_captcha
):
    settings.PORTAL_BASE_URL = live_server.url
    make_account(school, "admin01", role="main", full_name="王小明")
    sign_in_as(page, live_server.url, "010300_admin01", GOOD_PASSWORD)
    page.click("text=子帳號管理")
    page.click("text=建立子帳號")
    assert page.locator(".prefixed__prefix").inner_text() == "010300_"
    page.fill("#id_local_part", "a")  # too short first: refused, nothing lost
    page.fill("#id_full_name", "黃淑芬")
    page.fill("#id_office", "學務處")
    page.fill("#id_title", "生教組長")
    page.fill("#id_phone", "049-2910960#3971")
    page.fill("#id_email", "huang@school.edu.tw")
    solve_captcha(page)
    page.click("main button.button--wide")
    assert "2 到 30 個字元" in page.content()
    assert page.locator("#id_full_name").input_value() == "黃淑芬"
    screenshot("31-create-refused")
    page.fill("#id_local_part", "huang")
    solve_captcha(page)
    page.click("main button.button--wide")
    page.wait_for_url(live_server.url + "/manage/accounts/")
    assert "已建立子帳號 010300_huang" in page.content()
    screenshot("32-account-list")

    link = LINK_PATTERN.search(mail.outbox[-1].body).group(0)
    teacher = open_page(viewport)
    teacher.goto(link)
    assert "黃淑芬您好" in teacher.content()
    teacher.fill("#id_new_password1", TEACHER_PASSWORD)
    teacher.fill("#id_new_password2", TEACHER_PASSWORD)
    solve_captcha(teacher)
    teacher.click("button[type=submit]")
    teacher.wait_for_url(live_server.url + "/login/")
    teacher.fill("#id_password", TEACHER_PASSWORD)
    solve_captcha(teacher)
    teacher.click("form[action='/login/'] button[type=submit]")
    teacher.wait_for_url(live_server.url + "/")
    assert "黃淑芬您好" in teacher.content()
    screenshot("33-teacher-home", of=teacher)

"""Handing the main role over in a real Chromium (issue 16, point 12): the holder picks the
successor from the list, reads a page that names both people, then gives the password."""

import pytest

from accounts.models import Account
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_holder_chooses_the_successor_confirms_both_names_and_transfers(
    live_server, page, screenshot, school
):
    holder = make_account(school, "admin01", role=Account.Role.MAIN, full_name="王小明")
    successor = make_account(
        school, "teacher01", full_name="林志明", office="教務處", title="註冊組長"
    )
    make_account(school, "teacher02", full_name="黃淑芬")
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_admin01")
    page.fill("#id_password", GOOD_PASSWORD)
    page.fill('input[name="captcha_1"]', CAPTCHA_OK["captcha_1"])
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/manage/transfer/")
    options = page.locator("#id_successor option").all_inner_texts()
    assert options[1:] == [
        "林志明（010300_teacher01）教務處 註冊組長",
        "黃淑芬（010300_teacher02）教務處 組長",
    ]
    assert page.locator('input[name="password"]').count() == 0
    screenshot("91-transfer-choose")

    page.select_option("#id_successor", "010300_teacher01")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=確認轉移主帳號")
    people = page.locator(".transfer-people").inner_text()
    assert "王小明" in people and "010300_admin01" in people
    assert "林志明" in people and "010300_teacher01" in people
    screenshot("92-transfer-confirm")

    page.fill("#id_password", GOOD_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert "主帳號已轉移給 林志明（010300_teacher01）" in page.content()
    holder.refresh_from_db()
    successor.refresh_from_db()
    assert (holder.role, successor.role) == (Account.Role.SUB, Account.Role.MAIN)
    screenshot("93-transfer-done")

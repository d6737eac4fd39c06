"""Both home pages in a real Chromium with a few announcements like seed 000's: the guest
sees the guest announcements above the login form; after signing in, the teacher sees the
member announcements too. Then one announcement's permanent page and its copy button."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from announcements.models import Announcement
from announcements.services import create_announcement
from stations.models import Station
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_first_sign_in import solve_captcha
from tests.conftest import GOOD_PASSWORD, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAIPEI = ZoneInfo("Asia/Taipei")


def seed_board():
    capital = Station(slug="capital", name="資本門", entry_url="https://capital.example.tw/")
    capital.save()
    rows = [
        ("測試公告ABC", "我是內文123", "guest", datetime(2020, 12, 18, 0, 1), {}),
        (
            "重要事項公告&實名制系統主帳號人員-編制手冊V1.0版",
            "配合國教署政策，請先查詢是否已建立主帳號：https://sso.example.edu.tw/infosearch\n"
            "查無資料者請致電客服確認。",
            "guest",
            datetime(2021, 2, 24, 9, 30),
            {"pinned": True},
        ),
        (
            "資本門計畫線上填報說明",
            "填報期間：3月1日至3月31日。",
            "guest",
            datetime(2021, 3, 1, 16, 36),
            {"station": capital, "author_label": "資本門系統管理人員(北門高中)"},
        ),
        (
            "實名制系統子帳號人員-編制手冊",
            "子帳號人員請參閱手冊。",
            "member",
            datetime(2021, 2, 24, 10, 0),
            {},
        ),
    ]
    for title, body, audience, created, extra in rows:
        note = create_announcement(title=title, body=body, audience=audience, actor=None, **extra)
        Announcement.objects.filter(pk=note.pk).update(
            created_at=created.replace(tzinfo=TAIPEI),
            edited_at=created.replace(tzinfo=TAIPEI, minute=59) if title == "測試公告ABC" else None,
        )


def board_rows(page):
    return page.locator("section[aria-labelledby=announcements-title] tbody tr.board__row")


def test_the_guest_home_and_the_signed_in_home_show_the_board(
    live_server, page, screenshot, school, real_captcha
):
    seed_board()
    make_account(school, "teacher01", full_name="林志明")

    page.goto(live_server.url + "/")
    rows = board_rows(page)
    assert rows.count() == 3
    assert "重要事項公告" in rows.nth(0).inner_text()  # pinned first
    assert "資本門計畫線上填報說明" in rows.nth(1).inner_text()
    first = rows.nth(2).inner_text()
    assert "測試公告ABC" in first and "2020年12月18日 上午 00:01:00 (已編輯)" in first
    assert "系統管理員" in first
    content = page.content()
    assert "實名制系統子帳號人員-編制手冊" not in content
    assert "每頁顯示 10 列 1-3 列 (共 3 列)" in content
    screenshot("41-guest-home-announcements")

    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", GOOD_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert "林志明您好" in page.content()
    rows = board_rows(page)
    assert rows.count() == 4
    assert "會員公告" in page.content() and "實名制系統子帳號人員-編制手冊" in page.content()
    screenshot("42-member-home-announcements")

    page.click("text=查看更多")
    page.wait_for_url(live_server.url + "/announce/")
    assert "每頁顯示 10 列 1-4 列 (共 4 列)" in page.content()
    screenshot("43-announcement-list")


def test_an_announcement_page_copies_its_permanent_link(live_server, page, screenshot):
    seed_board()
    note = Announcement.objects.get(pinned=True)
    link = f"{live_server.url}/announce/{note.pk}"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(live_server.url + "/")
    page.locator(f'a[href="/announce/{note.pk}"]').click()
    page.wait_for_url(link)
    anchor = page.locator(".announcement__body a")
    assert anchor.get_attribute("href") == "https://sso.example.edu.tw/infosearch"
    assert anchor.get_attribute("rel") == "noopener nofollow"
    assert page.locator("#permanent-link").input_value() == link

    page.click("text=[複製連結]")
    page.wait_for_selector("text=已複製連結")
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot("44-announcement-permanent-link")


@pytest.mark.parametrize("path", ["/", "/announce/"])
def test_on_a_phone_the_board_pages_do_not_scroll_sideways(live_server, open_page, path):
    """WCAG 1.4.10 Reflow at 390 px: the hidden "查看：title" text of the board's last column
    must stay inside the table's own scroll box, not widen the page into empty space."""
    seed_board()
    phone = open_page("390px")
    phone.goto(live_server.url + path)
    assert phone.locator("tbody tr.board__row").count() >= 3
    widths = phone.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide at {widths[1]} px"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = "board-390" + path.replace("/", "-").rstrip("-")
    phone.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_language_changes_on_the_button_only_not_on_an_arrow_key(live_server, page):
    """WCAG 3.2.2 On Input: going through the languages with the keyboard changes nothing
    until the person presses 切換."""
    page.goto(live_server.url + "/qa/")
    page.focus("#language-select")
    page.keyboard.press("ArrowDown")
    page.wait_for_load_state("networkidle")  # a navigation the key started would end first
    assert page.url == live_server.url + "/qa/"
    assert page.locator("html").get_attribute("lang") == "zh-Hant-TW"
    assert page.locator("#language-select").input_value() == "en"
    page.get_by_role("button", name="切換").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"

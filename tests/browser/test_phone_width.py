"""Every page on a phone (issue 16, point 15): at 390 px wide no page scrolls sideways
(WCAG 1.4.10 Reflow), and the announcement table becomes a readable list. Each page is
opened in a real Chromium as the person who would see it, with long names and many
announcements, and photographed (var/screenshots/390-*.png)."""

import re

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client

from accounts.models import Account
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from announcements.models import Announcement
from announcements.services import create_announcement
from schools.models import MainAccountApplication
from stations.models import Station
from stations.services import grant_station
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import CAPTCHA_OK, LINK_PATTERN, bind_two_factor, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_TITLE = "重要事項公告&實名制系統主帳號人員-編制手冊V1.0版(新增學校主帳號人員異動申請辦法)"
LONG_LINK = "https://sso.example.edu.tw/announce/487?from=portal&campaign=account-application-2021"


@pytest.fixture
def world(school, agency, django_capture_on_commit_callbacks, settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    stats = Station(
        slug="stats", name="公務統計報表暨教育資源概況調查", entry_url="https://stats.example.tw/"
    )
    stats.save()
    holder = make_account(
        school,
        "admin01",
        role=Account.Role.MAIN,
        full_name="王小明",
        office="教務處註冊組暨設備組",
        title="教務主任兼資訊組長",
        email="wang.hsiao.ming.academic.affairs@school.edu.tw",
    )
    teacher = make_account(school, "teacher01", full_name="林志明")
    for number in range(2, 14):
        make_account(school, f"teacher{number:02d}", full_name=f"老師{number}")
    for account in (holder, teacher):
        grant_station(account=account, station=stats, actor=None)
    for number in range(12):
        create_announcement(
            title=f"{LONG_TITLE}{number}",
            body=f"查詢是否已建立主帳號連結查詢：{LONG_LINK}\n查無資料者請致電客服確認。",
            audience="guest",
            pinned=number == 0,
            station=stats if number == 1 else None,
            author_label="資本門系統管理人員(北門高中)",
            actor=None,
        )
    MainAccountApplication.objects.create(
        unit=agency,
        unit_name="國立示範高級中學",
        local_part="secretary",
        full_name="吳佩珊",
        title="秘書",
        office="秘書室",
        phone="03-9876543#101",
        email="wu@shanhai.edu.tw",
    )
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=agency,
            local_part="chief",
            profile=Profile("李大同", "資訊處", "科長", "02-77367800#1234", "lee@moe.gov.tw"),
        )
    link = LINK_PATTERN.search(mail.outbox[-1].body).group(0)
    return {"holder": holder, "teacher": teacher, "link": link}


def phone_page(browser, live_server, username=None):
    context = browser.new_context(locale="zh-TW", viewport=PHONE)
    if username:
        client = Client()
        client.force_login(Account.objects.get(username=username))
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    return context.new_page()


def overflow(page) -> list:
    """The page's width beyond the screen, and what sticks out (for the failure message)."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            const all = [...document.querySelectorAll('body *')];
            return [document.documentElement.scrollWidth, ...all
                .filter(el => el.getBoundingClientRect().right > width + 1)
                .filter(el => getComputedStyle(el).position !== 'absolute')
                .slice(0, 5).map(el => el.tagName + '.' + el.className)];
        }"""
    )


def check(page, live_server, path, name):
    response = page.goto(live_server.url + path)
    assert response.status < 500, path
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"390-{name}.png"), full_page=True)
    return overflow(page)


GUEST = [
    ("/", "home"),
    ("/login/", "login"),
    ("/announce/", "announcements"),
    ("/verify/resend/", "verify-resend"),
    ("/password/forgot/", "password-forgot"),
    ("/account/lookup/", "account-lookup"),
    ("/infosearch/", "holder-lookup"),
    ("/apply/", "apply"),
    ("/qa/", "qa"),
    ("/no-such-page/", "404"),
]


def test_no_guest_page_scrolls_sideways_at_390(browser, live_server, world):
    page = phone_page(browser, live_server)
    wide = {name: found for path, name in GUEST if (found := check(page, live_server, path, name))}
    note = Announcement.objects.get(pinned=True)
    if found := check(page, live_server, f"/announce/{note.pk}", "announcement"):
        wide["announcement"] = found
    link = world["link"].replace(django_settings.PORTAL_BASE_URL, "")
    if found := check(page, live_server, link, "set-password"):
        wide["set-password"] = found
    page.goto(live_server.url + "/password/forgot/")
    page.fill("#id_full_name", "林志明")
    page.fill("#id_username", "teacher01")
    page.fill("#id_email", "teacher01@school.edu.tw")
    page.fill('input[name="captcha_1"]', "PASSED")
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/password/forgot/code/"))
    if found := overflow(page):
        wide["password-forgot-code"] = found
    page.screenshot(path=str(SCREENSHOTS / "390-password-forgot-code.png"), full_page=True)
    page.context.close()

    assert wide == {}


def test_the_announcement_table_is_a_readable_list_at_390(browser, live_server, world):
    page = phone_page(browser, live_server)
    page.goto(live_server.url + "/")
    row = page.locator("tbody tr.board__row").first
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "390-board-list.png"))
    box = row.bounding_box()
    # An entry no wider than the screen: the title on top, a line of the text under it,
    # then the type, time and author, and the link; the table's header is for screen
    # readers only.
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    title = row.locator("td.board__title").bounding_box()
    summary = row.locator("td.board__summary").bounding_box()
    when = row.locator("td", has_text="2026").or_(row.locator("td.board__nowrap").nth(1))
    assert title["y"] < summary["y"] < when.first.bounding_box()["y"]
    line = row.locator("td.board__summary").evaluate(
        "el => parseFloat(getComputedStyle(el).lineHeight)"
    )
    assert summary["height"] < 1.5 * line  # one line
    assert page.locator("table.board thead").bounding_box()["width"] <= 1
    # The login box is a tap away.
    page.click("text=前往登入")
    assert page.locator("#login-title").is_visible()
    page.context.close()


TEACHER = [
    ("/", "member-home"),
    ("/me/", "me"),
    ("/me/password/", "me-password"),
    ("/me/email/", "me-email"),
    ("/me/two-factor/", "me-two-factor-bind"),
    ("/me/stations/", "me-stations"),
    ("/stations/stats/", "station-consent"),
]
HOLDER = [
    ("/manage/accounts/", "manage-list"),
    ("/manage/accounts/new/", "manage-new"),
    ("/manage/accounts/010300_teacher01/", "manage-account"),
    ("/manage/accounts/import/", "manage-import"),
    ("/manage/transfer/", "manage-transfer"),
    ("/manage/stations/", "manage-stations"),
]


def test_no_signed_in_page_scrolls_sideways_at_390(browser, live_server, world):
    page = phone_page(browser, live_server, "010300_teacher01")
    wide = {
        name: found for path, name in TEACHER if (found := check(page, live_server, path, name))
    }
    page.context.close()

    page = phone_page(browser, live_server, "010300_admin01")
    for path, name in HOLDER:
        if found := check(page, live_server, path, name):
            wide[name] = found
    page.goto(live_server.url + "/manage/transfer/")
    page.select_option("#id_successor", "010300_teacher01")
    page.click("main form button[type=submit]")
    page.wait_for_selector("text=確認轉移主帳號")
    if found := overflow(page):
        wide["manage-transfer-confirm"] = found
    page.screenshot(path=str(SCREENSHOTS / "390-manage-transfer-confirm.png"), full_page=True)
    page.context.close()

    assert wide == {}


def test_the_two_factor_pages_fit_at_390(browser, live_server, world):
    teacher = world["teacher"]
    bind_two_factor(teacher)
    page = phone_page(browser, live_server, "010300_teacher01")
    wide = {}
    if found := check(page, live_server, "/me/two-factor/", "me-two-factor"):
        wide["me-two-factor"] = found
    page.context.close()

    page = phone_page(browser, live_server)
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "010300_teacher01")
    page.fill("#id_password", "Harbor#Lantern-Tide82")
    page.fill('input[name="captcha_1"]', CAPTCHA_OK["captcha_1"])
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/login/two-factor/"))
    if found := overflow(page):
        wide["login-two-factor"] = found
    page.screenshot(path=str(SCREENSHOTS / "390-login-two-factor.png"), full_page=True)
    page.context.close()

    assert wide == {}

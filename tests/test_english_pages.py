"""English pages in English (issue 16, point 16): no Chinese words or full-width punctuation
left on a page someone switched to English, dates the English way, and the language menu
naming each language in its own words. The people here have ASCII names, so anything
Chinese on a page comes from the page itself."""

import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import Account
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from announcements.services import create_announcement
from stations.models import Station
from stations.services import grant_station
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, CommittingClient, link_token, sign_in

pytestmark = pytest.mark.django_db

# CJK ideographs, CJK punctuation (。、「」), full-width forms (：（），！)
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# The language menu names Chinese in Chinese, as it should.
ALLOWED = ["繁體中文"]


def in_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def chinese_on(page: str) -> list[str]:
    text = re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.S)
    for allowed in ALLOWED:
        text = text.replace(allowed, "")
    return sorted({match.group(0) for match in re.finditer(rf"\S*{CHINESE.pattern}\S*", text)})


@pytest.fixture
def english_school(db):
    from schools.models import Unit

    school = Unit.objects.create(code="010300", name="Model High School")
    holder = Account(
        username="010300_admin01",
        unit=school,
        local_part="admin01",
        role=Account.Role.MAIN,
        state=Account.State.ACTIVE,
        full_name="Wang Hsiao-ming",
        office="Academic Affairs",
        title="Director",
        phone="049-2910960#3765",
        email="wang@school.edu.tw",
    )
    holder.set_password(GOOD_PASSWORD)
    holder.save()
    teacher = Account(
        username="010300_teacher01",
        unit=school,
        local_part="teacher01",
        state=Account.State.ACTIVE,
        full_name="Lin Chih-ming",
        office="Student Affairs",
        title="Teacher",
        phone="049-2910960#3971",
        email="lin@school.edu.tw",
    )
    teacher.set_password(GOOD_PASSWORD)
    teacher.save()
    station = Station(slug="stats", name="Statistics", entry_url="https://stats.example.tw/")
    station.save()
    for account in (holder, teacher):
        grant_station(account=account, station=station, actor=None)
    create_announcement(
        title="Opening",
        body="The platform opens.",
        audience="guest",
        author_label="Administrator",  # stored as its author writes it
        actor=None,
    )
    return school


GUEST_PAGES = [
    "/",
    "/login/",
    "/announce/",
    "/verify/resend/",
    "/password/forgot/",
    "/account/lookup/",
    "/infosearch/",
    "/apply/",
    "/qa/",
]
HOLDER_PAGES = [
    "/",
    "/me/",
    "/me/password/",
    "/me/email/",
    "/me/two-factor/",
    "/me/stations/",
    "/manage/accounts/new/",
    "/manage/accounts/010300_teacher01/",
    "/manage/transfer/",
    "/manage/stations/",
]


@pytest.mark.parametrize("path", GUEST_PAGES)
def test_a_guest_page_in_english_has_no_chinese_left(client, english_school, path):
    page = in_english(client).get(path).content.decode()

    assert chinese_on(page) == []


@pytest.mark.parametrize("path", HOLDER_PAGES)
def test_a_holders_page_in_english_has_no_chinese_left(client, english_school, path):
    in_english(client)
    sign_in(client, "010300_admin01", GOOD_PASSWORD)

    page = client.get(path).content.decode()

    assert chinese_on(page) == []


def test_the_forms_errors_in_english_have_no_chinese_left(client, english_school):
    in_english(client)
    pages = [
        client.post("/login/", {"username": "teacher01", "password": "x", **CAPTCHA_OK}),
        client.post("/verify/resend/", {"email": "lin@school"}),
        client.post("/apply/", {"code": "999999", "phone": "abc", **CAPTCHA_OK}),
    ]

    for response in pages:
        assert chinese_on(response.content.decode()) == []


def test_the_set_password_page_and_the_forgot_password_step_2_in_english(
    english_school, django_capture_on_commit_callbacks
):
    from schools.models import Unit

    other = Unit.objects.create(code="010301", name="Peace High School")
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=other,
            local_part="clerk",
            profile=Profile("Chen Mei", "Office", "Clerk", "049-2910960", "chen@school.edu.tw"),
        )
    client = in_english(CommittingClient())
    set_password = client.get(f"/ckverifycode/{link_token(mail.outbox[-1])}/")
    client.post(
        "/password/forgot/",
        {"full_name": "Lin Chih-ming", "username": "teacher01", "email": "lin@school.edu.tw"}
        | CAPTCHA_OK,
    )
    step_2 = client.get("/password/forgot/code/")

    assert chinese_on(set_password.content.decode()) == []
    assert chinese_on(step_2.content.decode()) == []


def test_dates_in_english_are_written_the_english_way(client, english_school):
    with time_machine.travel(timezone.now(), tick=False):
        in_english(client)
        sign_in(client, "010300_teacher01", GOOD_PASSWORD)
        client.post("/logout/")
        sign_in(client, "010300_teacher01", GOOD_PASSWORD)

        page = client.get("/").content.decode()

        today = timezone.localtime()
        assert f"{today.day} {today:%b} {today.year}" in page  # the last sign-in, 1 Mar 2025
        assert not re.search(r"\d{4}-\d\d-\d\d", page)


def test_the_language_menu_says_english_in_english_and_chinese_in_chinese(client, db):
    page = client.get("/qa/").content.decode()

    assert '<option value="en" lang="en">English</option>' in page
    assert ">繁體中文</option>" in page
    assert "英語" not in page and "英文" not in page

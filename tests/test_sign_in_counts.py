"""The guest home's 今日登入人次 / 累計登入人次 (issue 18, seed 002): sign-ins today (Taipei)
and ever, counted from the security event log without a query per page view."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import sign_in_counts
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    sign_in_counts.forget()
    yield
    sign_in_counts.forget()


def counted_again():
    """What a minute later looks like: the cache's copy and this process's are gone."""
    cache.delete(sign_in_counts.CACHE_KEY)
    sign_in_counts.forget()


def counts_on(page: str) -> tuple[str, str]:
    today = page.split("data-sign-ins-today>")[1].split("<")[0]
    total = page.split("data-sign-ins-total>")[1].split("<")[0]
    return today, total


def test_the_guest_home_shows_todays_and_all_sign_ins(client, teacher):
    yesterday = timezone.localtime().replace(hour=12) - timedelta(days=1)
    with time_machine.travel(yesterday, tick=False):
        assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    for _ in range(2):
        assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    sign_in(Client(), "010300_teacher01", "Wrong#Password-99x")  # a failure is no sign-in
    page = client.get("/").content.decode()
    assert "今日登入人次" in page and "累計登入人次" in page
    assert counts_on(page) == ("2", "3")


def test_a_page_view_asks_the_database_nothing_about_the_counts(client, teacher):
    client.get("/")  # the first view counts (and draws the page)
    for each in (client, Client()):
        with CaptureQueriesContext(connection) as queries:
            assert each.get("/").status_code == 200
        assert not [q for q in queries if "accounts_securityevent" in q["sql"]]


def test_the_kept_page_shows_the_counts_of_the_moment(client, school):
    make_account(school, "teacher01")
    assert counts_on(client.get("/").content.decode()) == ("0", "0")  # drawn and kept
    for _ in range(3):
        sign_in(Client(), "010300_teacher01", GOOD_PASSWORD)
    assert counts_on(client.get("/").content.decode()) == ("0", "0")  # up to a minute late
    counted_again()
    page = Client().get("/").content.decode()
    assert counts_on(page) == ("3", "3")
    assert page.count("data-sign-ins-today>") == 1


def test_today_starts_again_at_midnight_in_taipei(client, teacher):
    sign_in(Client(), "010300_teacher01", GOOD_PASSWORD)
    assert counts_on(client.get("/").content.decode()) == ("1", "1")
    tomorrow = timezone.localtime().replace(hour=0, minute=5) + timedelta(days=1)
    with time_machine.travel(tomorrow, tick=False):
        # the kept counts are yesterday's: counted again at once, not a minute later
        assert counts_on(Client().get("/").content.decode()) == ("0", "1")


def test_thousands_are_grouped_as_people_read_them():
    from portal.templatetags import thousands

    assert thousands(44737) == "44,737" and thousands(170) == "170"

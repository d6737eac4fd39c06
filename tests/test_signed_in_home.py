"""The signed-in home page (issue 16, point 16): it shows the sign-in before this one
(上次登入), not this one, and two-factor is one click away."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from tests.conftest import GOOD_PASSWORD, CommittingClient, sign_in


def home_after_signing_in(at):
    with time_machine.travel(at, tick=False):
        client = CommittingClient()
        sign_in(client, "010300_teacher01", GOOD_PASSWORD)
        return client.get("/").content.decode()


def test_the_home_page_shows_the_last_sign_in_not_this_one(teacher):
    earlier = timezone.now() - timedelta(days=3, hours=2)
    home_after_signing_in(earlier)

    page = home_after_signing_in(timezone.now())

    assert "上次登入" in page
    assert timezone.localtime(earlier).strftime("%Y-%m-%d %H:%M") in page
    assert timezone.localtime().strftime("%Y-%m-%d %H:%M") not in page
    assert "本次登入" not in page


def test_a_first_sign_in_says_so(teacher):
    page = home_after_signing_in(timezone.now())

    assert "這是您第一次登入" in page


def test_two_factor_is_reachable_from_the_signed_in_home(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)

    page = client.get("/").content.decode()

    assert '<a class="button button--quiet" href="/me/two-factor/">雙因子認證</a>' in page

"""Countdowns where seed 002 shows them (issue 16, point 8): on the forgot-password step 2,
the code's remaining time (剩餘時間), and the wait before 重寄驗證信 can be pressed again. The
page works without JavaScript: it says until what time the code is good, and how long to
wait; the browser counts down from the seconds the server gives."""

import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from tests.test_forgot_password import STEP_2, ask


def countdown(page: str) -> int:
    return int(re.search(r'data-countdown="(\d+)"', page).group(1))


def wait(page: str) -> int:
    return int(re.search(r'data-wait="(\d+)"', page).group(1))


def test_step_2_shows_the_codes_remaining_time_and_until_when(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        page = client.get(STEP_2).content.decode()

        assert countdown(page) == 50 * 60
        until = timezone.localtime(start + timedelta(minutes=60)).strftime("%H:%M")
        assert f"驗證碼在 {until} 前有效" in page
        assert "剩餘時間" in page


def test_once_the_hour_is_over_step_2_says_the_code_is_no_longer_good(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        page = client.get(STEP_2).content.decode()

        assert countdown(page) == 0
        assert "驗證碼已失效，請按下方的「重寄驗證信」取得新的驗證碼。" in page


def test_the_resend_button_says_how_long_to_wait(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
    with time_machine.travel(start + timedelta(seconds=15), tick=False):
        page = client.get(STEP_2).content.decode()

        assert wait(page) == 45
        assert "45 秒後可以再按「重寄驗證信」" in page
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        page = client.get(STEP_2).content.decode()

        assert wait(page) == 0
        assert "秒後可以再按" not in page


def test_a_resend_starts_both_clocks_again(client, teacher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        ask(client)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        client.post(STEP_2, {"action": "resend"})
        page = client.get(STEP_2).content.decode()

        assert countdown(page) == 60 * 60
        assert wait(page) == 60

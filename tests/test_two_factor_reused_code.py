"""A two-factor code used moments ago (issue 16, point 5): a teacher who signs in on a second
computer within the same 30 seconds types the code the app still shows. It is refused, as a
code counts once, but with words that say to wait for the next one, and it does not count
toward the lockout: only a wrong code does."""

from datetime import timedelta

import pytest
import time_machine

from accounts.lockout import lock_state
from accounts.models import SecurityEvent
from tests.conftest import CommittingClient, bind_two_factor
from tests.test_two_factor import MOMENT, code_step, password_step, signed_in, totp

pytestmark = pytest.mark.django_db

JUST_USED = "這組驗證碼剛用過，請等下一組"


@pytest.fixture
def secret(teacher):
    with time_machine.travel(MOMENT - timedelta(minutes=5), tick=False):
        return bind_two_factor(teacher)


def signed_in_elsewhere_with(teacher, code):
    first = CommittingClient()
    password_step(first, teacher.username)
    assert code_step(first, code).status_code == 302


def test_a_code_used_moments_ago_is_refused_with_words_that_say_to_wait(teacher, secret):
    second = CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        code = totp(secret).now()
        signed_in_elsewhere_with(teacher, code)
        password_step(second, teacher.username)
        response = code_step(second, code)

    page = response.content.decode()
    assert response.status_code == 200
    assert not signed_in(second)
    assert JUST_USED in page
    assert "驗證碼錯誤，次數達 3 次即鎖定" not in page
    assert 'name="code"' in page  # still on the code step


def test_a_code_used_moments_ago_does_not_count_toward_the_lockout(teacher, secret):
    second = CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        code = totp(secret).now()
        signed_in_elsewhere_with(teacher, code)
        password_step(second, teacher.username)
        for _ in range(4):
            code_step(second, code)
        assert lock_state(teacher.username).failures == 0
        assert SecurityEvent.objects.filter(kind="two_factor_code_reused").count() == 4
        assert not SecurityEvent.objects.filter(kind="two_factor_failed").exists()

    with time_machine.travel(MOMENT + timedelta(seconds=30), tick=False):
        code_step(second, totp(secret).now())  # the app's next code
    assert signed_in(second)


def test_only_a_wrong_code_counts(teacher, secret):
    second = CommittingClient()
    with time_machine.travel(MOMENT, tick=False):
        code = totp(secret).now()
        signed_in_elsewhere_with(teacher, code)
        password_step(second, teacher.username)
        code_step(second, code)
        wrong = next(
            c
            for c in ("000000", "111111", "222222")
            if c
            not in {totp(secret).at(MOMENT + timedelta(seconds=drift)) for drift in (-30, 0, 30)}
        )
        response = code_step(second, wrong)

        assert "目前【1】" in response.content.decode()
        assert lock_state(teacher.username).failures == 1

"""Passwords over 128 characters (issue 13): refused with a message before any rule of the
policy runs and before anything is hashed, wherever a password is typed: sign-in, the
set-password link, the reset, the change, every re-check of the current password. The
backend and the hasher refuse them too, should a path ever get past the forms."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import RequestFactory

from accounts.hashers import PortalArgon2PasswordHasher
from accounts.lockout import lock_state, lockout_name
from accounts.models import Account, SecurityEvent
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    OTHER_GOOD_PASSWORD,
    CommittingClient,
    bind_two_factor,
    sign_in,
)

pytestmark = pytest.mark.django_db

TOO_LONG = "密碼長度不可超過 128 個字元。"
# Messages of the policy's rules (not their help texts, which every password page lists).
RULE_ERRORS = ("密碼須包含", "密碼太常見或容易猜到", "密碼不可使用鍵盤或字母順序")
LENGTHS = [129, 1_000_000]


def long_password(length):
    return "a" * length  # breaks other rules too: none of them may run


def assert_refused_for_length(response, password):
    page = response.content.decode()
    assert response.status_code == 200
    assert TOO_LONG in page
    assert not any(message in page for message in RULE_ERRORS)
    assert password[:129] not in page


def signed_in_as(username):
    client = CommittingClient()
    assert sign_in(client, username, GOOD_PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("username", ["010300_teacher01", "010300_nobody"])
def test_sign_in_refuses_it_alike_for_any_name_without_hashing_or_counting(
    client, teacher, hashed_lengths, length, username
):
    password = long_password(length)
    response = client.post("/login/", {"username": username, "password": password, **CAPTCHA_OK})

    assert_refused_for_length(response, password)
    assert hashed_lengths() == []
    assert lock_state(lockout_name(username)).failures == 0  # unknown names: keyed hash
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("length", LENGTHS)
def test_the_set_password_link_refuses_it(
    client, pending_main, set_password_token, hashed_lengths, length
):
    password = long_password(length)
    response = client.post(
        f"/ckverifycode/{set_password_token}/",
        {"new_password1": password, "new_password2": password, **CAPTCHA_OK},
    )

    assert_refused_for_length(response, password)
    assert hashed_lengths() == []
    assert Account.objects.get(pk=pending_main.pk).state == Account.State.PENDING


@pytest.mark.parametrize("length", LENGTHS)
def test_the_password_reset_refuses_it(client, teacher, hashed_lengths, length):
    person = {"full_name": "林志明", "username": "010300_teacher01", "email": teacher.email}
    client.post("/password/forgot/", {**person, **CAPTCHA_OK})
    password = long_password(length)
    response = client.post(
        "/password/forgot/code/",
        {"code": "12345678", "new_password1": password, "new_password2": password, **CAPTCHA_OK},
    )

    assert_refused_for_length(response, password)
    assert hashed_lengths() == []
    teacher.refresh_from_db()
    assert teacher.check_password(GOOD_PASSWORD)


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("field", ["old_password", "new_password1"])
def test_the_password_change_refuses_it_as_the_current_or_the_new_one(
    teacher, hashed_lengths, length, field
):
    client = signed_in_as("010300_teacher01")
    password = long_password(length)
    data = {"old_password": GOOD_PASSWORD, "new_password1": OTHER_GOOD_PASSWORD}
    data[field] = password
    data["new_password2"] = data["new_password1"]
    before = hashed_lengths()

    response = client.post("/me/password/", data)

    assert_refused_for_length(response, password)
    assert all(handed <= 128 for handed in hashed_lengths())
    assert len(hashed_lengths()) <= len(before) + 1  # at most the current password, checked
    teacher.refresh_from_db()
    assert teacher.check_password(GOOD_PASSWORD)


@pytest.mark.parametrize("length", LENGTHS)
def test_every_re_check_of_the_current_password_refuses_it(teacher, holder, hashed_lengths, length):
    password = long_password(length)
    person = signed_in_as("010300_teacher01")
    pages = {
        "e-mail": ("/me/email/", {"new_email": "x@school.edu.tw", "new_email2": "x@school.edu.tw"}),
        "binding": ("/me/two-factor/", {"code": "123456"}),
    }
    for path, data in pages.values():
        person.get(path)
        before = len(hashed_lengths())
        assert_refused_for_length(person.post(path, {**data, "password": password}), password)
        assert len(hashed_lengths()) == before

    bind_two_factor(teacher)
    bound = CommittingClient()
    bound.force_login(Account.objects.get(pk=teacher.pk))
    for action in ("regenerate", "disable"):
        before = len(hashed_lengths())
        response = bound.post("/me/two-factor/", {"action": action, "password": password})
        assert_refused_for_length(response, password)
        assert len(hashed_lengths()) == before
    assert Account.objects.get(pk=teacher.pk).two_factor_device is not None

    main = signed_in_as("010300_admin01")
    before = len(hashed_lengths())
    response = main.post(
        "/manage/transfer/", {"successor": "010300_teacher01", "password": password}
    )
    assert_refused_for_length(response, password)
    assert len(hashed_lengths()) == before
    assert Account.objects.get(pk=holder.pk).role == Account.Role.MAIN
    assert not SecurityEvent.objects.filter(kind="password_check_failed").exists()


def test_the_sign_in_backend_fails_it_without_hashing_and_counts_it(teacher, hashed_lengths):
    """Behind the forms: a path that reached the backend would cost nothing and count."""
    request = RequestFactory().post("/login/")
    password = long_password(1_000_000)

    assert authenticate(request, username="010300_teacher01", password=password) is None
    assert authenticate(request, username="010300_nobody", password=password) is None

    assert [n for n in hashed_lengths() if n > 128] == []
    assert lock_state("010300_teacher01").failures == 1
    assert lock_state(lockout_name("010300_nobody")).failures == 1  # kept as a keyed hash


def test_the_hasher_never_matches_nor_stores_it(teacher):
    hasher = PortalArgon2PasswordHasher()
    password = "Aa1!" * 40  # 160 characters
    encoded = hasher.encode(password[:128], hasher.salt())

    assert hasher.verify(password[:128], encoded)
    stored_long_ago = Argon2PasswordHasher().encode(password, hasher.salt())  # Django's own
    assert not hasher.verify(password, stored_long_ago)
    with pytest.raises(ValueError, match="128"):
        hasher.encode(password, hasher.salt())

"""Changing one's own password (/me/password/) and the password change required at sign-in
when the password breaks the current policy or is too old (SPEC section 3, seed 002)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, SecurityEvent
from accounts.services import sign_in as sign_in_service
from tests.conftest import (
    GOOD_PASSWORD,
    OTHER_GOOD_PASSWORD,
    CommittingClient,
    make_account,
    sign_in,
)

pytestmark = pytest.mark.django_db

PAGE = "/me/password/"


def change(client, old, new, confirm=None):
    return client.post(
        PAGE, {"old_password": old, "new_password1": new, "new_password2": confirm or new}
    )


@pytest.fixture
def signed_in(client, teacher):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    return client


def test_a_guest_is_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/me/password/"


def test_it_changes_the_password_keeps_this_session_and_ends_the_others(signed_in, teacher):
    other_device = Client()
    sign_in(other_device, "010300_teacher01", GOOD_PASSWORD)
    response = change(signed_in, GOOD_PASSWORD, OTHER_GOOD_PASSWORD)
    assert response.status_code == 302
    assert "林志明您好" in signed_in.get("/").content.decode()
    assert "林志明您好" not in other_device.get("/").content.decode()
    teacher.refresh_from_db()
    assert teacher.check_password(OTHER_GOOD_PASSWORD)
    assert teacher.password_changed_at is not None
    notice = mail.outbox[-1]
    assert notice.to == [teacher.email]
    assert "密碼已變更通知" in notice.subject
    assert OTHER_GOOD_PASSWORD not in notice.body
    assert SecurityEvent.objects.filter(kind="password_changed", account=teacher).exists()


def test_every_error_is_listed_at_once_and_nothing_typed_comes_back(signed_in, teacher):
    page = change(signed_in, "not-my-password", "abcd1234", "abcd12345").content.decode()
    assert "密碼不正確（錯誤 3 次將鎖定帳號，目前【1】）" in page
    assert "鍵盤或字母順序" in page
    assert "兩次輸入的密碼不一致" in page
    assert "not-my-password" not in page and "abcd1234" not in page
    teacher.refresh_from_db()
    assert teacher.check_password(GOOD_PASSWORD)


def test_the_last_three_passwords_cannot_come_back(signed_in, teacher):
    passwords = [OTHER_GOOD_PASSWORD, "Sunrise!Bamboo-Ferry64", "Copper&Willow-Lagoon73"]
    current = GOOD_PASSWORD
    for new in passwords:
        assert change(signed_in, current, new).status_code == 302
        current = new
    page = change(signed_in, current, OTHER_GOOD_PASSWORD).content.decode()
    assert "不可與前 3 次設定的密碼相同" in page
    # the first one has left the history of three
    assert change(signed_in, current, GOOD_PASSWORD).status_code == 302


def test_too_many_attempts_answer_with_a_clear_page(signed_in):
    for _ in range(10):
        change(signed_in, "wrong-old-password", OTHER_GOOD_PASSWORD)
    response = change(signed_in, GOOD_PASSWORD, OTHER_GOOD_PASSWORD)
    assert response.status_code == 429
    assert "操作太頻繁" in response.content.decode()


@pytest.fixture
def weak_teacher(school):
    """An account whose password predates the current policy."""
    account = make_account(school, "oldtimer", full_name="老師甲")
    account.set_password("password1")
    account.save()
    return account


def test_a_password_that_breaks_the_policy_must_be_changed_before_anything_else(
    client, weak_teacher
):
    response = sign_in(client, "010300_oldtimer", "password1")
    assert response.status_code == 302
    for path in ("/", "/me/", "/me/email/"):
        blocked = client.get(path)
        assert blocked.status_code == 302
        assert blocked["Location"].startswith(PAGE)
    page = client.get(PAGE).content.decode()
    assert "已不符合最新的密碼規則" in page
    assert SecurityEvent.objects.filter(
        kind="password_change_required", account=weak_teacher
    ).exists()
    assert change(client, "password1", OTHER_GOOD_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_signing_out_stays_possible_while_a_change_is_required(client, weak_teacher):
    sign_in(client, "010300_oldtimer", "password1")
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_password_older_than_the_maximum_age_must_be_changed(client, teacher, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    Account.objects.filter(pk=teacher.pk).update(
        password_changed_at=timezone.now() - timedelta(days=91)
    )
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get("/")["Location"] == PAGE
    assert "90 天" in client.get(PAGE).content.decode()


def test_a_recent_password_or_the_age_rule_off_lets_people_in(teacher, settings):
    Account.objects.filter(pk=teacher.pk).update(
        password_changed_at=timezone.now() - timedelta(days=89)
    )
    settings.PASSWORD_MAX_AGE_DAYS = 90
    recent = CommittingClient()
    sign_in(recent, "010300_teacher01", GOOD_PASSWORD)
    assert recent.get("/").status_code == 200
    settings.PASSWORD_MAX_AGE_DAYS = 0
    Account.objects.filter(pk=teacher.pk).update(
        password_changed_at=timezone.now() - timedelta(days=900)
    )
    off = CommittingClient()
    sign_in(off, "010300_teacher01", GOOD_PASSWORD)
    assert off.get("/").status_code == 200


def test_the_page_returns_to_where_the_person_was_going(client, weak_teacher):
    sign_in(client, "010300_oldtimer", "password1")
    blocked = client.get("/me/")
    assert blocked["Location"] == f"{PAGE}?next=%2Fme%2F"
    response = client.post(
        blocked["Location"],
        {
            "old_password": "password1",
            "new_password1": OTHER_GOOD_PASSWORD,
            "new_password2": OTHER_GOOD_PASSWORD,
            "next": "/me/",
        },
    )
    assert response["Location"] == "/me/"


# --- The policy check at sign-in runs once per policy (issue 8: the rules off the hot path) ---


def test_a_good_password_is_checked_once_and_remembered(client, teacher, monkeypatch):
    assert teacher.password_policy == ""  # made outside the policy (as imported data is)
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert Account.objects.get(pk=teacher.pk).password_policy == "2:school"

    def not_again(*args):
        raise AssertionError("the policy ran again")

    monkeypatch.setattr(sign_in_service, "policy_failures", not_again)
    with CaptureQueriesContext(connection) as queries:
        assert sign_in(CommittingClient(), "010300_teacher01", GOOD_PASSWORD).url == "/"
    assert not any(
        q["sql"].startswith('UPDATE "accounts_account" SET "password_policy')
        for q in queries.captured_queries
    )


def test_a_password_set_through_the_policy_is_not_checked_again(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    change(client, GOOD_PASSWORD, OTHER_GOOD_PASSWORD)
    assert Account.objects.get(pk=teacher.pk).password_policy == "2:school"


def test_a_stricter_policy_checks_every_password_again(client, teacher, settings):
    Account.objects.filter(pk=teacher.pk).update(password_policy="2:school")
    settings.PASSWORD_POLICY_VERSION = 3
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert Account.objects.get(pk=teacher.pk).password_policy == "3:school"


def test_an_account_moved_to_the_admin_side_meets_the_admin_rules_at_sign_in(client, school):
    account = make_account(school, "clerk", password="Harbor#Lan7")  # 11: fine for a school
    sign_in(CommittingClient(), "010300_clerk", "Harbor#Lan7")
    assert Account.objects.get(pk=account.pk).password_policy == "2:school"
    school.side = school.Side.ADMIN
    school.save()
    sign_in(client, "010300_clerk", "Harbor#Lan7")
    assert client.get("/")["Location"].startswith(PAGE)  # 12 characters on the admin side


# --- The current password goes through the lockout and the security log (issue 13) --------

WRONG = "Wrong#Password-99x"


def lock_by_signing_in_wrongly(username):
    for _ in range(3):
        sign_in(CommittingClient(), username, WRONG)


def test_three_wrong_current_passwords_lock_the_name_as_three_wrong_sign_ins_would(
    signed_in, teacher
):
    for attempt in (1, 2):
        page = change(signed_in, WRONG, OTHER_GOOD_PASSWORD).content.decode()
        assert f"密碼不正確（錯誤 3 次將鎖定帳號，目前【{attempt}】）" in page
    page = change(signed_in, WRONG, OTHER_GOOD_PASSWORD).content.decode()
    assert "帳號已鎖定 15 分鐘" in page

    # The name is locked for signing in too, even with the right password.
    refused = sign_in(CommittingClient(), "010300_teacher01", GOOD_PASSWORD)
    assert refused.status_code == 200
    assert "此帳號已鎖定 15 分鐘" in refused.content.decode()

    failures = SecurityEvent.objects.filter(kind="password_check_failed", account=teacher)
    assert [event.detail["purpose"] for event in failures] == ["password_change"] * 3
    assert sorted(event.detail["failures"] for event in failures) == [1, 2, 3]
    assert SecurityEvent.objects.filter(kind="locked_out", account=teacher).count() == 1
    teacher.refresh_from_db()
    assert teacher.check_password(GOOD_PASSWORD)
    assert mail.outbox == []


def test_a_locked_name_cannot_change_its_password_even_with_the_right_one(signed_in, teacher):
    lock_by_signing_in_wrongly("010300_teacher01")

    page = change(signed_in, GOOD_PASSWORD, OTHER_GOOD_PASSWORD).content.decode()

    assert "帳號已鎖定 15 分鐘" in page
    teacher.refresh_from_db()
    assert teacher.check_password(GOOD_PASSWORD)
    assert mail.outbox == []
    refused = SecurityEvent.objects.get(kind="password_check_failed", account=teacher)
    assert refused.detail == {"purpose": "password_change", "failures": 3, "refused_locked": True}


def test_a_right_current_password_clears_the_count_as_a_sign_in_does(signed_in, teacher):
    change(signed_in, WRONG, OTHER_GOOD_PASSWORD)
    change(signed_in, WRONG, OTHER_GOOD_PASSWORD)
    assert change(signed_in, GOOD_PASSWORD, OTHER_GOOD_PASSWORD).status_code == 302
    failed = sign_in(CommittingClient(), "010300_teacher01", WRONG)
    assert "目前【1】" in failed.content.decode()


def test_the_history_rule_says_nothing_before_the_current_password_is_confirmed(signed_in, teacher):
    """The history holds the current password: its answer would confirm a guess of it."""
    page = change(signed_in, WRONG, GOOD_PASSWORD).content.decode()

    assert "密碼不正確" in page
    assert "新密碼不可與前 3 次設定的密碼相同" not in page


# --- The admin's password change is the portal's own (issue 13) ---------------------------


@pytest.fixture
def helpdesk_signed_in(client, helpdesk):
    assert sign_in(client, "helpdesk", GOOD_PASSWORD).status_code == 302
    return client


def test_the_admins_password_change_leads_to_the_portals_page(helpdesk_signed_in, helpdesk):
    response = helpdesk_signed_in.get("/admin/password_change/")

    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?next=%2Fadmin%2F"


def test_posting_to_the_admins_password_change_changes_nothing(helpdesk_signed_in, helpdesk):
    response = helpdesk_signed_in.post(
        "/admin/password_change/",
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": "Sunrise!Bamboo-Ferry64x",
            "new_password2": "Sunrise!Bamboo-Ferry64x",
        },
    )

    assert response.status_code == 302
    helpdesk.refresh_from_db()
    assert helpdesk.check_password(GOOD_PASSWORD)


def test_an_admin_changes_its_password_with_the_notice_the_history_and_the_lockout(
    helpdesk_signed_in, helpdesk
):
    new = "Sunrise!Bamboo-Ferry64x"
    target = helpdesk_signed_in.get("/admin/password_change/")["Location"]
    wrong = helpdesk_signed_in.post(
        target, {"old_password": WRONG, "new_password1": new, "new_password2": new}
    )
    assert "目前【1】" in wrong.content.decode()
    assert SecurityEvent.objects.filter(kind="password_check_failed", account=helpdesk).exists()

    done = helpdesk_signed_in.post(
        target,
        {
            "old_password": GOOD_PASSWORD,
            "new_password1": new,
            "new_password2": new,
            "next": "/admin/",
        },
    )

    assert done["Location"] == "/admin/"
    helpdesk.refresh_from_db()
    assert helpdesk.check_password(new)
    assert helpdesk.password_changed_at is not None
    assert helpdesk.password_history.count() >= 1
    assert "密碼已變更通知" in mail.outbox[-1].subject
    assert mail.outbox[-1].to == [helpdesk.email]
    assert SecurityEvent.objects.filter(kind="password_changed", account=helpdesk).exists()
    assert helpdesk_signed_in.get("/admin/").status_code == 200  # this session goes on

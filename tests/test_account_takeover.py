"""Issue 13, section 2, points 1, 8 and 16: nobody but the person moves an account in use to
another e-mail address (the holder on /manage/, helpdesk in the admin); holders reach only
their unit's sub-accounts that are not staff; disabling or resetting an account ends its
sessions for good; only superusers switch staff accounts off and on."""

import re

import pytest
from django.core import mail

from accounts import services
from accounts.models import Account, AccountSession, SecurityEvent
from tests.conftest import (
    GOOD_PASSWORD,
    CommittingClient,
    sign_in,
)

pytestmark = pytest.mark.django_db

OLD = "teacher01@school.edu.tw"
NEW = "holder.owns.this@evil.example"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+(/me/email/confirm/[^/\s\"<>]+/)")
PROFILE = {
    "full_name": "林志明",
    "office": "教務處",
    "title": "組長",
    "phone": "049-2910960#3765",
}


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def desk(helpdesk):
    client = CommittingClient()
    assert sign_in(client, "helpdesk", GOOD_PASSWORD).status_code == 302
    return client


def holder_sets_email(client, username, email):
    return client.post(
        f"/manage/accounts/{username}/", {**PROFILE, "email": email, "action": "save"}, follow=True
    )


def mails_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def confirm_path(message) -> str:
    match = CONFIRM_LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def email_of(account) -> str:
    account.refresh_from_db()
    return account.email


# --- Low 8: disabling and resetting end sessions ------------------------------------------


def test_a_disabled_then_enabled_accounts_old_session_stays_signed_out(holder_in, teacher):
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)
    assert person.get("/me/").status_code == 200

    holder_in.post("/manage/accounts/010300_teacher01/", {"action": "disable"})
    assert not AccountSession.objects.filter(account=teacher).exists()
    holder_in.post("/manage/accounts/010300_teacher01/", {"action": "enable"})

    assert person.get("/me/")["Location"].startswith("/login/")
    assert "_auth_user_id" not in person.session


def test_a_reset_accounts_sessions_are_gone(desk, teacher):
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)
    key = person.session.session_key

    desk.post(
        "/admin/accounts/account/",
        {"action": "reset_selected", "_selected_action": [teacher.pk]},
    )

    assert not AccountSession.objects.filter(session_key=key).exists()
    assert person.get("/me/")["Location"].startswith("/login/")


# --- Low 16: staff accounts are switched off and on by superusers only -------------------


def test_helpdesk_cannot_disable_or_enable_a_staff_member(desk, helpdesk):
    colleague = Account.objects.create_user(
        "desk2", email="desk2@portal.example.tw", password=GOOD_PASSWORD, full_name="客服二號"
    )
    colleague.is_staff = True
    colleague.save()

    for action in ("disable_selected", "reset_selected"):
        page = desk.post(
            "/admin/accounts/account/",
            {"action": action, "_selected_action": [colleague.pk]},
            follow=True,
        ).content.decode()
        assert "只有系統管理者（超級使用者）可以停用、重新啟用或重置管理人員的帳號。" in page
    colleague.refresh_from_db()
    assert colleague.state == Account.State.ACTIVE
    assert not SecurityEvent.objects.filter(kind="account_disabled").exists()

    Account.objects.filter(pk=colleague.pk).update(state=Account.State.DISABLED)
    desk.post(
        "/admin/accounts/account/",
        {"action": "enable_selected", "_selected_action": [colleague.pk]},
    )
    colleague.refresh_from_db()
    assert colleague.state == Account.State.DISABLED


def test_a_superuser_may_disable_and_enable_a_staff_member(helpdesk, db):
    root = Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    with pytest.raises(Exception, match="超級使用者"):
        services.disable_account(account=helpdesk, actor=helpdesk)

    services.disable_account(account=helpdesk, actor=root)
    helpdesk.refresh_from_db()
    assert helpdesk.state == Account.State.DISABLED
    services.enable_account(account=helpdesk, actor=root)
    helpdesk.refresh_from_db()
    assert helpdesk.state == Account.State.ACTIVE

"""Issue 13, section 2, points 1, 8 and 16: nobody but the person moves an account in use to
another e-mail address (the holder on /manage/, helpdesk in the admin); holders reach only
their unit's sub-accounts that are not staff; disabling or resetting an account ends its
sessions for good; only superusers switch staff accounts off and on."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import Account, AccountSession, EmailChangeRequest, SecurityEvent
from accounts.services.account_care import disable_account, enable_account
from accounts.services.password_reset import start_password_reset
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    CommittingClient,
    link_token,
    make_account,
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


# --- High 1: the holder's e-mail change ---------------------------------------------------


def test_a_holder_changing_an_active_accounts_email_only_sends_a_confirmation(
    holder_in, holder, teacher
):
    page = holder_sets_email(holder_in, "010300_teacher01", NEW).content.decode()

    assert email_of(teacher) == OLD
    assert f"確認信已寄到新信箱 {NEW}" in page and "本人登入" in page
    assert f"新信箱 {NEW} 等待 010300_teacher01 本人登入確認" in page
    [confirmation] = mails_to(NEW)
    assert "王小明" in confirmation.body and "本人登入" in confirmation.body
    [notice] = mails_to(OLD)
    assert NEW in notice.body and "王小明" in notice.body
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGE_REQUESTED)
    assert event.account == teacher and event.actor == holder
    assert event.detail == {"old_email": OLD, "new_email": NEW}


def test_the_holder_cannot_apply_the_confirmation_link_themselves(holder_in, teacher):
    holder_sets_email(holder_in, "010300_teacher01", NEW)
    path = confirm_path(mails_to(NEW)[0])

    assert "登入後確認" in Client().get(path).content.decode()
    Client().post(path)
    page = holder_in.post(path).content.decode()

    assert "您目前登入的不是 010300_teacher01" in page
    assert email_of(teacher) == OLD
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EMAIL_CHANGED).exists()


def test_forgot_password_still_mails_the_old_address_after_a_holders_change(holder_in, teacher):
    holder_sets_email(holder_in, "010300_teacher01", NEW)
    mail.outbox.clear()

    def forgot(email):
        person = {"full_name": "林志明", "username": "010300_teacher01", "email": email}
        return CommittingClient().post("/password/forgot/", {**person, **CAPTCHA_OK})

    assert forgot(NEW).status_code == 302
    assert mail.outbox == []
    # The control: the same request with the old address does mail a code (so the empty
    # outbox above is the matching's answer, not a task that never ran).
    assert forgot(OLD).status_code == 302
    [code] = mails_to(OLD)
    assert re.search(r"\b[A-Z]{2}-\d{8}\b", code.body)


def test_the_person_signed_in_confirms_a_change_the_holder_asked_for(holder_in, holder, teacher):
    holder_sets_email(holder_in, "010300_teacher01", "lin.new@school.edu.tw")
    path = confirm_path(mails_to("lin.new@school.edu.tw")[0])
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)
    start_password_reset(full_name="林志明", username="010300_teacher01", email=OLD)

    assert "確認變更" in person.get(path).content.decode()
    assert person.post(path).status_code == 302

    assert email_of(teacher) == "lin.new@school.edu.tw"
    assert not teacher.password_reset_codes.filter(revoked_at=None).exists()
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.actor == teacher
    assert event.detail == {
        "old_email": OLD,
        "new_email": "lin.new@school.edu.tw",
        "requested_by": "010300_admin01",
    }


WARNING = "如果您沒有請對方這麼做，請不要確認"


def test_the_person_signed_in_is_told_who_asked_for_the_change_and_warned(holder_in, teacher):
    holder_sets_email(holder_in, "010300_teacher01", NEW)
    path = confirm_path(mails_to(NEW)[0])
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)

    page = person.get(path).content.decode()

    assert "這項變更是貴單位主帳號負責人王小明（010300_admin01）為您申請的" in page
    assert WARNING in page and NEW in page
    assert "確認變更" in page


def test_a_change_asked_for_by_helpdesk_names_helpdesk_to_the_person(desk, teacher):
    admin_sets_email(desk, teacher, NEW)
    path = confirm_path(mails_to(NEW)[0])
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)

    page = person.get(path).content.decode()

    assert "這項變更是系統客服人員為您申請的" in page and WARNING in page


def test_the_persons_own_change_shows_no_warning(teacher):
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)
    new_email = {"new_email": "lin.new@school.edu.tw", "new_email2": "lin.new@school.edu.tw"}
    person.post("/me/email/", {**new_email, "password": GOOD_PASSWORD})
    path = confirm_path(mails_to("lin.new@school.edu.tw")[0])

    page = person.get(path).content.decode()

    assert "把帳號 010300_teacher01 的公務信箱改為 lin.new@school.edu.tw？" in page
    assert WARNING not in page


def confirm_as_teacher(path):
    person = CommittingClient()
    sign_in(person, "010300_teacher01", GOOD_PASSWORD)
    return person.post(path)


def test_a_holders_unconfirmed_changes_end_when_the_main_role_is_handed_over(
    holder_in, holder, teacher, school
):
    make_account(school, "teacher02", full_name="陳小華")
    holder_sets_email(holder_in, "010300_teacher01", NEW)
    path = confirm_path(mails_to(NEW)[0])
    own = {"new_email": "wang.new@school.edu.tw", "new_email2": "wang.new@school.edu.tw"}
    holder_in.post("/me/email/", {**own, "password": GOOD_PASSWORD})

    handed = holder_in.post(
        "/manage/transfer/", {"successor": "010300_teacher02", "password": GOOD_PASSWORD}
    )

    assert handed.status_code == 302
    assert confirm_as_teacher(path).status_code == 404
    assert email_of(teacher) == OLD
    # The former holder's own change is theirs to confirm still.
    assert holder.email_change_requests.get().revoked_at is None
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.MAIN_ROLE_TRANSFERRED)
    assert event.detail["email_changes_revoked"] == 1


def test_a_holders_unconfirmed_changes_end_when_the_holder_is_disabled(
    holder_in, holder, teacher, helpdesk
):
    holder_sets_email(holder_in, "010300_teacher01", NEW)
    path = confirm_path(mails_to(NEW)[0])

    disable_account(account=holder, actor=helpdesk)

    assert confirm_as_teacher(path).status_code == 404
    assert email_of(teacher) == OLD
    assert EmailChangeRequest.objects.get(account=teacher).revoked_at is not None
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ACCOUNT_DISABLED)
    assert event.detail == {"email_changes_revoked": 1}


def test_a_pending_accounts_typo_is_corrected_at_once_with_a_new_link(holder_in, holder):
    holder_in.post(
        "/manage/accounts/new/",
        {"local_part": "teacher02", **PROFILE, "email": "huang@scool.edu.tw", **CAPTCHA_OK},
    )
    first = link_token(mails_to("huang@scool.edu.tw")[0])
    pending = Account.objects.get(username="010300_teacher02")

    page = holder_sets_email(holder_in, "010300_teacher02", "huang@school.edu.tw")

    assert email_of(pending) == "huang@school.edu.tw"
    assert "新的設定密碼連結已寄到新信箱" in page.content.decode()
    second = link_token(mails_to("huang@school.edu.tw")[0])
    assert Client().get(f"/ckverifycode/{first}/").status_code == 404
    assert Client().get(f"/ckverifycode/{second}/").status_code == 200
    notice = mails_to("huang@scool.edu.tw")[-1]
    assert "已經失效" in notice.body and "huang@school.edu.tw" not in notice.body
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGED)
    assert event.actor == holder
    assert event.detail == {"old_email": "huang@scool.edu.tw", "new_email": "huang@school.edu.tw"}


def test_a_bad_new_address_comes_back_with_a_message(holder_in, teacher):
    page = holder_sets_email(holder_in, "010300_teacher01", "not-an-address").content.decode()

    assert "信箱格式不正確" in page and 'value="not-an-address"' in page
    assert email_of(teacher) == OLD
    assert not EmailChangeRequest.objects.exists()


# --- High 1: which accounts a holder reaches ------------------------------------------------


def test_the_holder_does_not_reach_their_own_account_staff_or_superusers_of_the_unit(
    holder_in, holder, school
):
    staff = make_account(school, "itstaff", is_staff=True)
    root = make_account(school, "root01", is_superuser=True)
    for account in (holder, staff, root):
        path = f"/manage/accounts/{account.username}/"
        assert holder_in.get(path).status_code == 404
        assert holder_in.post(path, {**PROFILE, "email": NEW, "action": "save"}).status_code == 404
        assert holder_in.post(path, {"action": "disable"}).status_code == 404
        assert email_of(account) != NEW
    assert not EmailChangeRequest.objects.exists()


def test_the_list_and_export_leave_staff_out_and_link_the_holders_own_row_to_me(
    holder_in, school, teacher
):
    make_account(school, "itstaff", is_staff=True)

    page = holder_in.get("/manage/accounts/").content.decode()
    export = holder_in.get("/manage/accounts/export.csv").content.decode()

    assert '<a href="/me/">010300_admin01</a>' in page
    assert 'href="/manage/accounts/010300_teacher01/"' in page
    assert "itstaff" not in page and "itstaff" not in export
    assert "teacher01" in export and "admin01" in export


# --- High 1: helpdesk in the admin --------------------------------------------------------


def admin_sets_email(desk, account, email):
    return desk.post(
        f"/admin/accounts/account/{account.pk}/change/", {**PROFILE, "email": email}, follow=True
    )


def test_helpdesk_editing_an_active_accounts_email_only_sends_a_confirmation(
    desk, helpdesk, teacher
):
    page = admin_sets_email(desk, teacher, NEW).content.decode()

    assert email_of(teacher) == OLD
    assert f"確認信已寄到新信箱 {NEW}" in page
    assert "系統客服人員" in mails_to(NEW)[0].body and NEW in mails_to(OLD)[0].body
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EMAIL_CHANGE_REQUESTED)
    assert event.actor == helpdesk and event.detail["old_email"] == OLD


def test_helpdesk_corrects_a_pending_accounts_email_with_a_new_link(desk, helpdesk, pending_main):
    first = link_token(mail.outbox[-1])

    admin_sets_email(desk, pending_main, "wang.new@school.edu.tw")

    assert email_of(pending_main) == "wang.new@school.edu.tw"
    second = link_token(mails_to("wang.new@school.edu.tw")[0])
    assert Client().get(f"/ckverifycode/{first}/").status_code == 404
    assert Client().get(f"/ckverifycode/{second}/").status_code == 200
    assert mails_to("wang@school.edu.tw")[-1].subject.startswith("公務信箱已更正通知")
    assert SecurityEvent.objects.filter(
        kind=SecurityEvent.Kind.EMAIL_CHANGED, account=pending_main, actor=helpdesk
    ).exists()


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
        disable_account(account=helpdesk, actor=helpdesk)

    disable_account(account=helpdesk, actor=root)
    helpdesk.refresh_from_db()
    assert helpdesk.state == Account.State.DISABLED
    enable_account(account=helpdesk, actor=root)
    helpdesk.refresh_from_db()
    assert helpdesk.state == Account.State.ACTIVE

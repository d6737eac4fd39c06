"""Main-account application: a guest applies on /apply/ with seed 000's fields, helpdesk
approves or rejects in the admin, and the applicant hears either way (SPEC sections 7, 10)."""

import re
from zoneinfo import ZoneInfo

import pytest
from captcha.models import CaptchaStore
from django.contrib.auth.models import Group
from django.core import mail

from accounts.models import Account, SecurityEvent
from schools.models import MainAccountApplication
from tests.conftest import (
    CAPTCHA_OK,
    GOOD_PASSWORD,
    CommittingClient,
    link_token,
    make_account,
    sign_in,
)

pytestmark = pytest.mark.django_db

URL = "/apply/"
LIST = "/admin/schools/mainaccountapplication/"
Kind = SecurityEvent.Kind

GOOD = {
    "code": "010300",
    "unit_name": "國立示範高級中學",
    "local_part": "Secretary01",
    "full_name": "黃淑芬",
    "title": "秘書",
    "office": "秘書室",
    "phone": "049-2910960#3001",
    "email": "huang@school.edu.tw",
}


def apply(client, captcha=CAPTCHA_OK, follow=False, **changes):
    return client.post(URL, {**GOOD, **changes, **captcha}, follow=follow)


def messages_on(response) -> list[str]:
    return re.findall(r'<p class="message message--\w+">(.*?)</p>', response.content.decode())


def mails_to(address, subject_part):
    return [m for m in mail.outbox if m.to == [address] and subject_part in m.subject]


# --- Applying ------------------------------------------------------------------------------


def test_a_guest_sees_the_form_with_the_seeds_fields(client):
    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "申請主帳號" in page
    for field in (*GOOD, "captcha_1"):
        assert f'name="{field}"' in page
    assert 'href="/infosearch/"' in page


def test_a_good_application_is_stored_mailed_and_logged(client, school):
    response = apply(client, follow=True)

    assert response.redirect_chain == [(URL, 302)]
    assert "申請已送出" in response.content.decode()  # a page of its own (issue 16)
    application = MainAccountApplication.objects.get()
    assert application.unit == school
    assert application.status == MainAccountApplication.Status.PENDING
    assert application.local_part == "secretary01"
    assert (application.full_name, application.title, application.office) == (
        "黃淑芬",
        "秘書",
        "秘書室",
    )
    assert (application.phone, application.email) == ("049-2910960#3001", "huang@school.edu.tw")
    assert application.unit_name == "國立示範高級中學"
    assert not Account.objects.filter(unit=school).exists()

    (received,) = mail.outbox
    assert received.to == ["huang@school.edu.tw"]
    assert "主帳號申請已收到" in received.subject
    assert f"申請編號 {application.pk}" in received.body
    html, mimetype = received.alternatives[0]
    assert mimetype == "text/html"
    assert f"申請編號 {application.pk}" in html

    event = SecurityEvent.objects.get()
    assert event.kind == Kind.APPLICATION_SUBMITTED
    assert event.account is None
    assert event.username == "010300_secretary01"


TYPED = {
    "code": "010300",
    "unit_name": "點此領獎 http://evil.example/prize",
    "local_part": "Winner01",
    "full_name": "恭喜中獎請洽客服",
    "title": "請回電0900123456",
    "office": "請匯款至帳號12345",
    "phone": "0900-123-456",
    "email": "victim@school.edu.tw",
}


def test_the_acknowledgement_to_the_unconfirmed_address_holds_nothing_the_applicant_typed(
    client, school
):
    """Anyone can type anyone's address on /apply/: the mail to it says only our fixed text,
    the application's number and its time, never what was typed (the school's code and name
    included)."""
    response = client.post(URL, {**TYPED, **CAPTCHA_OK})

    assert response.status_code == 302
    application = MainAccountApplication.objects.get()
    (received,) = mail.outbox
    assert received.to == ["victim@school.edu.tw"]
    html = received.alternatives[0][0]
    for text in (received.subject, received.body, html):
        for name, value in TYPED.items():
            if name != "email":
                assert value not in text, (name, text)
        assert "winner01" not in text.lower()
    assert f"申請編號 {application.pk}" in received.body
    assert (
        application.created_at.astimezone(ZoneInfo("Asia/Taipei")).strftime("%Y-%m-%d %H:%M")
        in received.body
    )


def test_the_rejection_to_the_unconfirmed_address_holds_nothing_the_applicant_typed(
    client, school, helpdesk
):
    client.post(URL, {**TYPED, **CAPTCHA_OK})
    application = MainAccountApplication.objects.get()
    desk = CommittingClient()
    sign_in(desk, "helpdesk", GOOD_PASSWORD)
    mail.outbox.clear()
    desk.post(f"{LIST}{application.pk}/reject/", {"reason": "無法確認申請人身分。"})

    (rejected,) = mail.outbox
    assert rejected.to == ["victim@school.edu.tw"]
    for text in (rejected.subject, rejected.body, rejected.alternatives[0][0]):
        for name, value in TYPED.items():
            if name != "email":
                assert value not in text, (name, text)
    assert "無法確認申請人身分。" in rejected.body
    assert f"申請編號 {application.pk}" in rejected.body


def test_every_error_is_shown_at_once_and_the_values_are_kept(client, school):
    response = apply(
        client,
        code="",
        unit_name="",
        local_part="x",
        title="",
        office="",
        phone="call me",
        email="not-an-address",
    )

    page = response.content.decode()
    assert response.status_code == 200
    for error in (
        "請輸入校代碼。",
        "請輸入校名。",
        "帳號只能使用英文、數字、「.」、「-」，長度 2 到 30 個字元。",
        "請輸入職稱。",
        "請輸入處室名稱。",
        "電話格式不正確",
        "信箱格式不正確",
    ):
        assert error in page
    assert 'value="黃淑芬"' in page
    assert 'value="not-an-address"' in page
    assert 'value="call me"' in page
    assert not MainAccountApplication.objects.exists()
    assert mail.outbox == []
    assert not SecurityEvent.objects.exists()


def test_an_unknown_unit_code_is_refused(client, school):
    response = apply(client, code="999999")

    assert response.status_code == 200
    assert "查無此校代碼" in response.content.decode()
    assert not MainAccountApplication.objects.exists()
    assert mail.outbox == []


def test_a_school_with_a_main_account_is_sent_to_its_holder(client, holder):
    response = apply(client)

    page = response.content.decode()
    assert response.status_code == 200
    assert "這個學校已經有主帳號，請洽詢目前的主帳號負責人辦理轉移" in page
    assert "查詢目前的主帳號負責人" in page
    assert not MainAccountApplication.objects.exists()
    assert mail.outbox == []


def test_a_school_whose_main_account_is_disabled_is_sent_to_helpdesk(client, holder, settings):
    holder.state = Account.State.DISABLED
    holder.save(update_fields=["state"])

    page = apply(client).content.decode()

    assert "這個學校的主帳號已停用，請致電系統客服" in page
    assert settings.HELPDESK_PHONE in page
    assert not MainAccountApplication.objects.exists()


@pytest.mark.parametrize("local_part", ["a", "has space", "王小明", "under_score", "x" * 31])
def test_a_bad_local_part_is_refused(client, school, local_part):
    response = apply(client, local_part=local_part)

    page = response.content.decode()
    assert response.status_code == 200
    assert "帳號只能使用英文、數字、「.」、「-」，長度 2 到 30 個字元。" in page
    assert not MainAccountApplication.objects.exists()


def test_a_local_part_already_used_in_the_school_is_refused(client, teacher):
    page = apply(client, local_part="Teacher01").content.decode()

    assert "帳號 010300_teacher01 已有人使用，請換一個。" in page
    assert not MainAccountApplication.objects.exists()


def test_the_unit_code_is_matched_whatever_its_case(client, agency):
    apply(client, code="moe001", unit_name="國教署", local_part="chief")

    application = MainAccountApplication.objects.get()
    assert application.unit == agency
    assert SecurityEvent.objects.get().username == "moe001_chief"


def test_a_wrong_captcha_stores_nothing(client, real_captcha, school):
    page = client.get(URL).content.decode()
    key = re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)
    right = CaptchaStore.objects.get(hashkey=key).response
    wrong = "000000" if right != "000000" else "111111"

    response = apply(client, captcha={"captcha_0": key, "captcha_1": wrong})

    assert response.status_code == 200
    assert "驗證碼不正確" in response.content.decode()
    assert not MainAccountApplication.objects.exists()
    assert mail.outbox == []


def test_one_mail_address_gets_a_few_applications_an_hour_then_a_clear_page(client, school):
    from accounts.throttles import LIMITS
    from schools.models import Unit
    from schools.views.guest import APPLY_SCOPE

    allowed = int(dict(LIMITS[APPLY_SCOPE])["key"].split("/")[0])
    codes = [f"0104{n:02d}" for n in range(allowed + 1)]  # one pending application per unit
    for code in codes:
        Unit.objects.create(code=code, name=f"測試高中{code}")
    answers = [apply(client, code=code).status_code for code in codes]

    assert answers == [302] * allowed + [429]
    assert MainAccountApplication.objects.count() == allowed


# --- Helpdesk decides in the admin ---------------------------------------------------------


@pytest.fixture
def application(school):
    guest = CommittingClient()
    assert apply(guest).status_code == 302
    mail.outbox.clear()
    return MainAccountApplication.objects.get()


@pytest.fixture
def desk(client, helpdesk):
    assert sign_in(client, "helpdesk", GOOD_PASSWORD).status_code == 302
    return client


def act(desk, action, application):
    return desk.post(LIST, {"action": action, "_selected_action": [application.pk]}, follow=True)


def test_the_helpdesk_group_may_read_and_decide_applications():
    codenames = set(
        Group.objects.get(name="Helpdesk").permissions.values_list("codename", flat=True)
    )

    assert {"view_mainaccountapplication", "decide_mainaccountapplication"} <= codenames
    assert "change_mainaccountapplication" not in codenames
    assert "delete_mainaccountapplication" not in codenames


def test_helpdesk_finds_applications_in_the_admin(desk, application, other_school):
    page = desk.get(LIST, {"q": "010300"}).content.decode()

    assert "黃淑芬" in page
    assert "secretary01" in page
    assert "待審核" in page
    assert "陳美玲" not in page
    assert "黃淑芬" not in desk.get(LIST, {"q": "010301"}).content.decode()


def test_helpdesk_approves_and_the_pending_main_account_is_created(
    desk, application, helpdesk, school
):
    response = act(desk, "approve_selected", application)

    assert response.status_code == 200
    assert "主帳號 010300_secretary01 已建立" in response.content.decode()
    account = Account.objects.get(username="010300_secretary01")
    assert account.unit == school
    assert account.role == Account.Role.MAIN
    assert account.state == Account.State.PENDING
    assert (account.full_name, account.email, account.phone) == (
        "黃淑芬",
        "huang@school.edu.tw",
        "049-2910960#3001",
    )
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.APPROVED
    assert application.account == account
    assert application.decided_by == helpdesk
    assert application.decided_at is not None

    (created,) = mails_to("huang@school.edu.tw", "註冊會員成功通知")
    (approved,) = mails_to("huang@school.edu.tw", "主帳號申請已核准")
    assert "010300_secretary01" in approved.body
    assert "註冊會員成功通知" in approved.body
    assert approved.alternatives[0][1] == "text/html"
    assert len(mail.outbox) == 2
    event = SecurityEvent.objects.get(kind=Kind.APPLICATION_APPROVED)
    assert (event.account, event.actor) == (account, helpdesk)
    assert SecurityEvent.objects.get(kind=Kind.ACCOUNT_CREATED).actor == helpdesk

    guest = CommittingClient()
    assert guest.get(f"/ckverifycode/{link_token(created)}/").status_code == 200


def test_the_approve_button_on_the_change_page_approves(desk, application):
    change = f"{LIST}{application.pk}/change/"
    page = desk.get(change).content.decode()
    assert f'action="{LIST}{application.pk}/approve/"' in page

    response = desk.post(f"{LIST}{application.pk}/approve/")

    assert response.status_code == 302
    assert response["Location"] == change
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.APPROVED
    assert Account.objects.filter(username="010300_secretary01", role="main").exists()


def test_the_decision_buttons_are_post_only(desk, application):
    assert desk.get(f"{LIST}{application.pk}/approve/").status_code == 405
    assert desk.get(f"{LIST}{application.pk}/reject/").status_code == 405
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.PENDING


def test_helpdesk_rejects_and_the_applicant_gets_the_reason(desk, application, helpdesk):
    response = act(desk, "reject_selected", application)

    assert "已退回" in response.content.decode()
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.REJECTED
    assert application.rejection_reason == "資料不完整或無法確認，請來電客服"
    assert application.decided_by == helpdesk
    (rejected,) = mail.outbox
    assert rejected.to == ["huang@school.edu.tw"]
    assert "主帳號申請未通過" in rejected.subject
    assert "資料不完整或無法確認，請來電客服" in rejected.body
    assert "資料不完整或無法確認，請來電客服" in rejected.alternatives[0][0]
    assert not Account.objects.filter(unit=application.unit).exists()
    event = SecurityEvent.objects.get(kind=Kind.APPLICATION_REJECTED)
    assert (event.username, event.actor) == ("010300_secretary01", helpdesk)


def test_the_reject_button_sends_the_reason_helpdesk_typed(desk, application):
    desk.post(f"{LIST}{application.pk}/reject/", {"reason": "校名與校代碼不符，請確認後再申請。"})

    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.REJECTED
    (rejected,) = mail.outbox
    assert "校名與校代碼不符，請確認後再申請。" in rejected.body


def test_approving_after_the_school_got_a_main_account_fails_and_stays_pending(
    desk, application, school
):
    make_account(school, "admin01", role=Account.Role.MAIN, full_name="王小明")

    response = act(desk, "approve_selected", application)

    page = response.content.decode()
    assert "無法核准" in page
    assert "單位 010300 已有主帳號" in page
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.PENDING
    assert application.account is None
    assert not Account.objects.filter(username="010300_secretary01").exists()
    assert mail.outbox == []
    assert not SecurityEvent.objects.filter(kind=Kind.APPLICATION_APPROVED).exists()


def test_approving_after_the_local_part_was_taken_fails_and_stays_pending(
    desk, application, school
):
    make_account(school, "secretary01", full_name="黃淑芬")

    page = act(desk, "approve_selected", application).content.decode()

    assert "帳號 010300_secretary01 已有人使用" in page
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.PENDING


def test_an_application_is_decided_only_once(desk, application):
    act(desk, "approve_selected", application)
    mail.outbox.clear()

    page = act(desk, "reject_selected", application).content.decode()

    assert "無法退回" in page
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.APPROVED
    assert mail.outbox == []
    assert not SecurityEvent.objects.filter(kind=Kind.APPLICATION_REJECTED).exists()


def test_applications_are_read_only_in_the_admin(desk, application):
    change = f"{LIST}{application.pk}/change/"
    page = desk.get(change).content.decode()
    assert "黃淑芬" in page
    assert 'name="full_name"' not in page

    desk.post(change, {"full_name": "別人", "status": "approved"})

    application.refresh_from_db()
    assert (application.full_name, application.status) == ("黃淑芬", "pending")
    assert desk.get(f"{LIST}add/").status_code == 403
    assert desk.get(f"{LIST}{application.pk}/delete/").status_code == 403


def test_a_teacher_cannot_reach_the_applications(client, teacher, application):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)

    response = client.get(LIST, follow=True)
    client.post(f"{LIST}{application.pk}/approve/")

    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.PENDING


def test_a_guest_is_sent_to_the_sign_in_page(client, application):
    response = client.get(LIST, follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/")


def test_staff_outside_helpdesk_cannot_decide(client, application):
    Account.objects.create_user(
        "operator", email="op@portal.example.tw", password=GOOD_PASSWORD, full_name="值班人員"
    )
    Account.objects.filter(username="operator").update(is_staff=True)
    sign_in(client, "operator", GOOD_PASSWORD)

    assert client.get(LIST).status_code == 403
    assert client.post(f"{LIST}{application.pk}/approve/").status_code == 403
    application.refresh_from_db()
    assert application.status == MainAccountApplication.Status.PENDING

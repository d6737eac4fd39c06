"""Data that stays clean (issue 16, point 14): a local part has a letter or a digit; what is
typed in full width is stored in half width and e-mail domains in lower case, the same on
every page that takes a profile (create, edit, /me/, /apply/, the admin) and in the services
the CSV import and the operator command use (accounts.profile.normalize_profile)."""

import pytest

from accounts.models import Account
from accounts.profile import Profile, normalize_email, normalize_phone, normalize_profile
from accounts.services.new_accounts import create_main_account
from schools.models import MainAccountApplication
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, sign_in

pytestmark = pytest.mark.django_db

TYPED = {
    "full_name": "黃　淑芬 ",
    "office": "學務處（Ｂ棟）",
    "title": "生教組長",
    "phone": "０４９－２９１０９６０＃３９７１",
    "email": "Huang.SF@School.EDU.TW",
}
STORED = {
    "full_name": "黃 淑芬",
    "office": "學務處（B棟）",
    "title": "生教組長",
    "phone": "049-2910960#3971",
    "email": "Huang.SF@school.edu.tw",
}


def stored(account):
    account.refresh_from_db()
    return {field: getattr(account, field) for field in STORED}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("０２－７７３６ ７８００ 轉 １２３４", "02-7736 7800 轉 1234"),
        ("(02)2345–6789#12", "(02)2345-6789#12"),  # an en dash from a word processor
        (" 049-2910960  #3765 ", "049-2910960 #3765"),
    ],
)
def test_phones_are_stored_in_half_width(typed, expected):
    assert normalize_phone(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Wang@School.EDU.tw", "Wang@school.edu.tw"),
        ("ｗａｎｇ＠ｓｃｈｏｏｌ．ｅｄｕ．ｔｗ", "wang@school.edu.tw"),
        ("wang@school。edu。tw ", "wang@school.edu.tw"),  # the Chinese full stop
    ],
)
def test_e_mail_addresses_are_half_width_with_the_domain_in_lower_case(typed, expected):
    assert normalize_email(typed) == expected


def test_a_name_keeps_its_chinese_characters():
    profile = normalize_profile(Profile("王\u3000小明", "教務處", "主任", "1234567", "a@b.tw"))

    assert profile.full_name == "王 小明"


@pytest.mark.parametrize("local_part", ["-.", "..", "--", ".-.-"])
def test_a_local_part_needs_a_letter_or_a_digit(client, holder, local_part):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    response = client.post(
        "/manage/accounts/new/", {"local_part": local_part, **STORED, **CAPTCHA_OK}
    )

    assert response.status_code == 200
    assert "帳號至少要有一個英文字母或數字" in response.content.decode()
    assert not Account.objects.filter(full_name=STORED["full_name"]).exists()


def test_the_create_form_stores_half_width(client, holder):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    response = client.post("/manage/accounts/new/", {"local_part": "huang", **TYPED, **CAPTCHA_OK})

    assert response.status_code == 302
    assert stored(Account.objects.get(username="010300_huang")) == STORED


def test_the_edit_form_stores_half_width(client, holder, teacher):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    Account.objects.filter(pk=teacher.pk).update(state=Account.State.PENDING)  # e-mail at once
    response = client.post(f"/manage/accounts/{teacher.username}/", {"action": "save", **TYPED})

    assert response.status_code == 302
    assert stored(teacher) == STORED


def test_the_persons_own_page_stores_half_width(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    fields = {name: TYPED[name] for name in ("full_name", "office", "title", "phone")}

    assert client.post("/me/", fields).status_code == 302
    assert {name: stored(teacher)[name] for name in fields} == {
        name: STORED[name] for name in fields
    }


def test_the_e_mail_change_stores_the_domain_in_lower_case(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    client.post(
        "/me/email/",
        {
            "new_email": "Lin.New@School.EDU.TW",
            "new_email2": "lin.new@school.edu.tw".replace("lin.new", "Lin.New"),
            "password": GOOD_PASSWORD,
        },
    )

    assert teacher.email_change_requests.get().new_email == "Lin.New@school.edu.tw"


def test_the_application_stores_half_width(client, school):
    client.post(
        "/apply/",
        {
            "code": "０１０３００",
            "unit_name": "示範高中",
            "local_part": "sec",
            **TYPED,
            **CAPTCHA_OK,
        },
    )

    application = MainAccountApplication.objects.get()
    assert {field: getattr(application, field) for field in STORED} == STORED


def test_helpdesk_edits_in_the_admin_store_half_width(client, helpdesk, teacher):
    sign_in(client, "helpdesk", GOOD_PASSWORD)
    page = f"/admin/accounts/account/{teacher.pk}/change/"
    client.get(page)
    response = client.post(
        page,
        {
            "full_name": TYPED["full_name"],
            "office": TYPED["office"],
            "title": TYPED["title"],
            "phone": TYPED["phone"],
            "email": teacher.email,
        },
    )

    assert response.status_code == 302
    account = stored(teacher)
    assert (account["full_name"], account["phone"]) == (STORED["full_name"], STORED["phone"])


def test_the_services_store_half_width_whoever_calls_them(school):
    """The operator command and helpdesk's approval create accounts through this service;
    the CSV import through the sub-account one, which normalises the same way."""
    account = create_main_account(unit=school, local_part="boss", profile=Profile(**TYPED))

    assert stored(account) == STORED

"""A login name typed without the school code in front (issue 16, point 6): ``teacher01``
instead of ``010300_teacher01``. The pages say so, decided from what was typed alone (the
same answer whether or not an account, such as a staff member's, has that name); on the
create form a local part typed with the prefix is understood, another prefix explained."""

import re

import pytest
from django.core import mail

from accounts.models import Account
from tests.conftest import CAPTCHA_OK, GOOD_PASSWORD, CommittingClient, sign_in

HINT = "前面沒有校代碼。學校主(子)帳號的帳號是「校代碼_帳號」"


def test_a_failed_sign_in_without_the_prefix_says_what_the_name_looks_like(client, teacher):
    response = sign_in(client, "teacher01", GOOD_PASSWORD)

    page = response.content.decode()
    assert response.status_code == 200
    assert HINT in page
    assert "例如 010300_teacher01" in page
    assert "目前【1】" in page  # counted like any failure


def test_a_name_with_the_prefix_gets_no_hint(client, teacher):
    response = sign_in(client, "010300_teacher01", "Wrong#Password-99x")

    assert HINT not in response.content.decode()


def test_the_hint_does_not_depend_on_whether_the_name_exists(db):
    """``operator1`` is a staff account (no school code), ``nobody`` is no one: the same
    page for both."""
    Account.objects.create_user("operator1", email="op@portal.example.tw", password="x" * 12)
    pages = []
    for name in ("operator1", "nobodyzzz"):
        response = sign_in(CommittingClient(), name, "Wrong#Password-99x")
        pages.append(response.content.decode().replace(name, "NAME"))

    assert HINT in pages[0]
    assert _without_tokens(pages[0]) == _without_tokens(pages[1])


def _without_tokens(page):
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return re.sub(r"[0-9a-f]{40}", "", page)


@pytest.mark.parametrize("path", ["/verify/resend/", "/password/forgot/"])
def test_the_public_forms_say_so_too_match_or_miss(client, teacher, path):
    for full_name in ("林志明", "某某某"):  # a match of name and e-mail, and a miss
        response = client.post(
            path,
            {
                "full_name": full_name,
                "username": "teacher01",
                "email": teacher.email,
                **CAPTCHA_OK,
            },
            follow=True,
        )
        assert HINT in response.content.decode()


def test_every_login_name_box_warns_as_soon_as_it_is_left(client, db):
    page = client.get("/login/").content.decode()

    assert 'data-prefix-hint-for="id_username"' in page


def test_the_holder_may_type_the_local_part_with_the_schools_code(client, holder):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    response = client.post(
        "/manage/accounts/new/",
        {
            "local_part": "010300_Test03",
            "full_name": "黃淑芬",
            "office": "學務處",
            "title": "生教組長",
            "phone": "049-2910960#3971",
            "email": "huang@school.edu.tw",
            **CAPTCHA_OK,
        },
    )

    assert response.status_code == 302
    assert Account.objects.get(full_name="黃淑芬").username == "010300_test03"
    assert "010300_test03" in mail.outbox[-1].body


def test_another_schools_code_in_front_is_explained(client, holder, other_school):
    sign_in(client, "010300_admin01", GOOD_PASSWORD)
    response = client.post(
        "/manage/accounts/new/",
        {
            "local_part": "010301_test03",
            "full_name": "黃淑芬",
            "office": "學務處",
            "title": "生教組長",
            "phone": "049-2910960#3971",
            "email": "huang@school.edu.tw",
            **CAPTCHA_OK,
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "子帳號只要填「_」後面的部分，例如 test03" in page
    assert "010300_" in page
    assert not Account.objects.filter(full_name="黃淑芬").exists()

"""Transferring the main role as a holder meets it (issue 16, point 12): the successor is
chosen from a list of the unit's active sub-accounts, then a page that names both people
asks for the password. Nobody types a login name, so nobody types a wrong one."""

import re

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


def options(page: str) -> list[str]:
    select = re.search(r'<select name="successor".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_successor_is_chosen_from_the_units_active_sub_accounts(
    holder_in, holder, teacher, other_holder
):
    pending = make_account(holder.unit, "pending1")
    Account.objects.filter(pk=pending.pk).update(state=Account.State.PENDING)
    disabled = make_account(holder.unit, "left01")
    Account.objects.filter(pk=disabled.pk).update(state=Account.State.DISABLED)
    make_account(holder.unit, "teacher02", full_name="黃淑芬", office="學務處", title="生教組長")

    page = holder_in.get("/manage/transfer/").content.decode()

    assert options(page) == ["010300_teacher01", "010300_teacher02"]
    assert "黃淑芬（010300_teacher02）學務處 生教組長" in page
    assert "例如 010300_teacher01" in page  # examples in this unit's code
    assert 'name="password"' not in page  # not before the people are named


def test_choosing_shows_a_page_that_names_both_people_and_asks_the_password(
    holder_in, holder, teacher
):
    response = holder_in.post("/manage/transfer/", {"successor": "010300_teacher01"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "確認轉移主帳號" in page
    assert "王小明" in page and "010300_admin01" in page
    assert "林志明" in page and "010300_teacher01" in page
    assert 'name="password"' in page
    assert '<input type="hidden" name="successor" value="010300_teacher01">' in page
    holder.refresh_from_db()
    assert holder.role == Account.Role.MAIN  # nothing has happened yet
    assert mail.outbox == []


def test_the_password_on_the_confirmation_page_completes_the_transfer(holder_in, holder, teacher):
    holder_in.post("/manage/transfer/", {"successor": "010300_teacher01"})

    response = holder_in.post(
        "/manage/transfer/", {"successor": "010300_teacher01", "password": GOOD_PASSWORD}
    )

    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.role == Account.Role.MAIN


def test_a_wrong_password_keeps_the_confirmation_page(holder_in, teacher):
    response = holder_in.post(
        "/manage/transfer/", {"successor": "010300_teacher01", "password": "Wrong#Password-99x"}
    )

    page = response.content.decode()
    assert "確認轉移主帳號" in page and "林志明" in page
    assert "目前【1】" in page


def test_someone_outside_the_list_is_refused_on_the_list(holder_in, other_holder):
    response = holder_in.post("/manage/transfer/", {"successor": "010301_principal"})

    page = response.content.decode()
    assert "請從清單選擇" in page
    assert 'name="password"' not in page


def test_without_a_candidate_the_page_says_to_create_one_first(holder_in):
    page = holder_in.get("/manage/transfer/").content.decode()

    assert "貴單位目前沒有已開通的子帳號可以接任" in page
    assert 'href="/manage/accounts/new/"' in page


def test_the_list_costs_the_same_queries_however_many_people(holder_in, holder):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            holder_in.get("/manage/transfer/")
        return len(captured)

    make_account(holder.unit, "t1")
    few = queries()
    for n in range(2, 12):
        make_account(holder.unit, f"t{n}")
    assert queries() == few


def test_a_teacher_cannot_open_it(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)

    assert client.get("/manage/transfer/").status_code == 403

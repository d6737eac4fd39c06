"""Handing the main role to a successor (SPEC section 6): only an active sub-account of the
same unit, the password re-checked (a wrong one counts toward the lockout), one
transaction, both people told, never zero or two main accounts in a unit."""

import os
import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, RequestFactory

from accounts.models import Account, SecurityEvent
from schools.services.transfer import transfer_main_role
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

WRONG = "Wrong#Password-99x"


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


def transfer(client, successor, password=GOOD_PASSWORD):
    return client.post("/manage/transfer/", {"successor": successor, "password": password})


@pytest.mark.django_db
def test_the_successor_becomes_main_and_the_former_holder_a_sub_account(holder_in, holder, teacher):
    response = transfer(holder_in, "010300_Teacher01")
    assert response["Location"] == "/"
    holder.refresh_from_db()
    teacher.refresh_from_db()
    assert teacher.role == Account.Role.MAIN
    assert holder.role == Account.Role.SUB
    assert {tuple(m.to) for m in mail.outbox} == {(holder.email,), (teacher.email,)}
    assert all("主帳號已轉移" in m.subject for m in mail.outbox)
    event = SecurityEvent.objects.get(kind="main_role_transferred")
    assert event.account == teacher and event.actor == holder
    assert holder_in.get("/manage/accounts/").status_code == 403  # no longer the holder


@pytest.mark.django_db
def test_a_wrong_password_is_refused_and_counts_toward_the_lockout(holder_in, holder, teacher):
    page = transfer(holder_in, "010300_teacher01", WRONG).content.decode()
    assert "密碼不正確" in page and "目前【1】" in page
    transfer(holder_in, "010300_teacher01", WRONG)
    transfer(holder_in, "010300_teacher01", WRONG)
    holder.refresh_from_db()
    assert holder.role == Account.Role.MAIN
    assert "已鎖定" in sign_in(Client(), "010300_admin01", GOOD_PASSWORD).content.decode()
    assert mail.outbox == []
    failures = SecurityEvent.objects.filter(kind="password_check_failed", account=holder)
    assert [event.detail["purpose"] for event in failures] == ["main_role_transfer"] * 3
    assert SecurityEvent.objects.filter(kind="locked_out", account=holder).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "successor", ["010300_nobody", "010301_principal", "010300_admin01", "010300_pending1"]
)
def test_only_an_active_sub_account_of_the_same_unit_can_succeed(
    holder_in, holder, other_holder, successor
):
    pending = make_account(holder.unit, "pending1", password=None)
    pending.state = Account.State.PENDING
    pending.save(update_fields=["state"])
    page = transfer(holder_in, successor).content.decode()
    assert "field--error" in page or "error-summary" in page
    holder.refresh_from_db()
    assert holder.role == Account.Role.MAIN
    assert Account.objects.filter(unit=holder.unit, role=Account.Role.MAIN).count() == 1


@pytest.mark.django_db
def test_both_fields_are_required_and_named_at_once(holder_in):
    page = holder_in.post("/manage/transfer/", {"password": ""}).content.decode()
    assert "請選擇接任者" in page and "請輸入您的密碼" in page


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="two concurrent transfers need PostgreSQL's row locks (CI sets DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_transfers_at_once_leave_exactly_one_main_account(holder, school):
    first = make_account(school, "first01")
    second = make_account(school, "second01")
    barrier = threading.Barrier(2)
    outcomes = []

    def request_of(holder):
        request = RequestFactory().post("/manage/transfer/")
        request.user = holder
        return request

    def run(successor):
        try:
            barrier.wait()
            transfer_main_role(
                holder=Account.objects.get(pk=holder.pk),
                successor_username=successor.username,
                password=GOOD_PASSWORD,
                request=request_of(holder),
            )
            outcomes.append("ok")
        except Exception as error:  # the loser is refused
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(who,)) for who in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ValidationError", "ok"]
    assert Account.objects.filter(unit=school, role=Account.Role.MAIN).count() == 1

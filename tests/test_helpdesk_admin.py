"""Helpdesk in the Django admin (SPEC section 10), entered only through the portal's sign-in."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import results
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin import AccountAdmin
from accounts.admin_changelist import CountUpToPaginator, account_search
from accounts.models import Account, SecurityEvent
from accounts.services.account_care import locked_until
from mail.models import OutboundEmail
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db

WRONG = "Wrong#Password-99x"


@pytest.fixture
def desk(client, helpdesk):
    assert sign_in(client, "helpdesk", GOOD_PASSWORD).status_code == 302
    return client


def lock(username):
    for _ in range(3):
        sign_in(Client(), username, WRONG)


def test_the_admin_login_page_sends_guests_to_the_portal_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/login/?next=%2Fadmin%2F"
    assert "captcha_1" in response.content.decode()


def test_posting_to_the_admin_login_does_not_sign_in(client, helpdesk):
    response = client.post("/admin/login/", {"username": "helpdesk", "password": GOOD_PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_a_locked_staff_member_cannot_reach_the_admin_either(client, helpdesk):
    lock("helpdesk")
    assert sign_in(client, "helpdesk", GOOD_PASSWORD).status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_teacher_is_refused_the_admin(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert "沒有權限" in response.content.decode()


def test_the_helpdesk_group_is_created_with_its_permissions():
    codenames = set(
        Group.objects.get(name="Helpdesk").permissions.values_list("codename", flat=True)
    )
    assert {
        "view_account",
        "change_account",
        "unlock_account",
        "view_outboundemail",
        "resend_outboundemail",
        "view_securityevent",
        "view_unit",
        "view_mainaccountapplication",
        "decide_mainaccountapplication",
    } == codenames


@pytest.mark.parametrize(
    "query",
    [
        "010300_teacher01",
        "teacher01",  # part of the login name: the local part without the unit code
        "010300_TEACHER01",
        "林志明",
        "林志",  # a short term: the start of the name
        "teacher01@school.edu.tw",
        "TEACHER01@School.edu.TW",  # the whole address, in any case
        "010300",  # the unit code
        "010300_teach",  # the start of a login name
    ],
)
def test_helpdesk_finds_accounts_by_name_login_mail_and_unit(desk, teacher, other_holder, query):
    page = desk.get("/admin/accounts/account/", {"q": query}).content.decode()
    assert ">010300_teacher01</a>" in page
    assert ">010301_principal</a>" not in page


def test_a_short_term_matches_names_by_their_start_only(desk, teacher):
    assert ">010300_teacher01</a>" in result_of(desk, "林")
    assert ">010300_teacher01</a>" not in result_of(desk, "志明")  # not how 林志明 starts


def test_a_term_with_an_at_sign_is_a_whole_address_and_one_with_an_underscore_a_start(
    desk, teacher
):
    assert ">010300_teacher01</a>" not in result_of(desk, "teacher01@school")
    assert ">010300_teacher01</a>" not in result_of(desk, "0300_teacher01")
    assert ">010300_teacher01</a>" in result_of(desk, "teacher0")  # no "_": anywhere


def result_of(desk, query):
    return desk.get("/admin/accounts/account/", {"q": query}).content.decode()


def test_the_list_shows_until_when_an_account_is_locked(desk, teacher, holder):
    lock("010300_teacher01")
    page = desk.get("/admin/accounts/account/").content.decode()
    until = timezone.localtime(locked_until("010300_teacher01"))
    assert locked_cell(page, "010300_teacher01") == f"{until:%Y-%m-%d %H:%M}"
    assert locked_cell(page, "010300_admin01") == "—"


def test_two_failures_do_not_show_a_lock(desk, teacher):
    for _ in range(2):
        sign_in(Client(), "010300_teacher01", WRONG)
    page = desk.get("/admin/accounts/account/").content.decode()
    assert locked_cell(page, "010300_teacher01") == "—"


def locked_cell(page, username):
    row = next(r for r in re.findall(r"<tr.*?</tr>", page, re.S) if f">{username}</a>" in r)
    return re.search(r'class="field-locked_until">([^<]*)<', row).group(1)


@pytest.mark.parametrize("query", [{}, {"q": "010300"}, {"q": "測試"}])
def test_the_account_list_costs_the_same_queries_for_few_or_many_rows(desk, school, query):
    make_account(school, "t0")
    desk.get("/admin/accounts/account/", query)
    with CaptureQueriesContext(connection) as few:
        desk.get("/admin/accounts/account/", query)
    for index in range(1, 25):
        make_account(school, f"t{index}", password=None)
    lock("010300_t3")
    lock("010300_t7")
    with CaptureQueriesContext(connection) as many:
        page = desk.get("/admin/accounts/account/", query).content.decode()
    assert page.count('class="action-select"') == 25 + (not query)  # helpdesk's own too
    assert len(many) == len(few)


@pytest.mark.parametrize("query", [{}, {"q": "010300", "p": "1"}, {"o": "-2"}])
def test_the_list_draws_its_rows_as_djangos_admin_draws_them(helpdesk, school, query):
    """AccountChangeList.rows draws the rows itself (speed): the markup must be Django's."""
    make_account(school, "t0", full_name="<b>林</b>&", email="t0@school.edu.tw")
    make_account(school, "t1", password=None)  # pending, never signed in
    disabled = make_account(school, "t2", role=Account.Role.MAIN)
    disabled.state = Account.State.DISABLED
    disabled.last_login = timezone.now()
    disabled.save()
    lock("010300_t0")
    request = RequestFactory().get("/admin/accounts/account/", query)
    request.user = helpdesk
    model_admin = admin.site._registry[Account]
    changelist = model_admin.get_changelist_instance(request)
    changelist.formset = None  # as changelist_view sets it for a list without list_editable
    ours = ["".join(row) for row in changelist.rows()]
    djangos = ["".join(row) for row in results(changelist)]
    assert len(ours) >= 3
    assert ours == djangos


@pytest.mark.parametrize("query", [{}, {"q": "010300"}])
def test_the_account_list_never_counts_the_whole_table(desk, school, query):
    make_account(school, "t0")
    with CaptureQueriesContext(connection) as queries:
        assert desk.get("/admin/accounts/account/", query).status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "accounts_account" in q["sql"]]
    assert counts, "the list counts its rows"
    assert all("LIMIT 1001" in sql for sql in counts), counts


def test_a_list_longer_than_the_count_limit_says_so_and_offers_its_first_pages(
    desk, school, monkeypatch
):
    monkeypatch.setattr(CountUpToPaginator, "limit", 4)
    monkeypatch.setattr(AccountAdmin, "list_per_page", 2)
    for index in range(6):
        make_account(school, f"t{index}", password=None)
    page = desk.get("/admin/accounts/account/", {"q": "010300_t"}).content.decode()
    assert "超過 4 個帳號" in page
    assert page.count('class="action-select"') == 2
    second = desk.get("/admin/accounts/account/", {"q": "010300_t", "p": 2}).content.decode()
    assert ">010300_t3</a>" in second
    page = desk.get("/admin/accounts/account/", {"q": "010300_t5"}).content.decode()
    assert "超過" not in page
    assert page.count('class="action-select"') == 1


def test_the_unlock_button_unlocks_at_once_and_is_logged(desk, teacher, helpdesk):
    lock("010300_teacher01")
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 200
    page = desk.get(f"/admin/accounts/account/{teacher.pk}/change/").content.decode()
    assert "解除鎖定" in page
    response = desk.post(f"/admin/accounts/account/{teacher.pk}/unlock/")
    assert response.status_code == 302
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    event = SecurityEvent.objects.get(kind="unlocked")
    assert event.account == teacher
    assert event.actor == helpdesk


def test_unlock_is_post_only(desk, teacher):
    assert desk.get(f"/admin/accounts/account/{teacher.pk}/unlock/").status_code == 405


def test_the_unlock_action_unlocks_the_selected_accounts(desk, teacher, holder):
    lock("010300_teacher01")
    lock("010300_admin01")
    desk.post(
        "/admin/accounts/account/",
        {"action": "unlock_selected", "_selected_action": [teacher.pk, holder.pk]},
    )
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    assert sign_in(Client(), "010300_admin01", GOOD_PASSWORD).status_code == 302
    assert SecurityEvent.objects.filter(kind="unlocked").count() == 2


def test_helpdesk_cannot_touch_passwords_permissions_or_superuser_flags(desk, teacher):
    page = desk.get(f"/admin/accounts/account/{teacher.pk}/change/").content.decode()
    for field in (
        "is_superuser",
        "user_permissions",
        "groups",
        'name="password"',
        'name="is_staff"',
    ):
        assert field not in page
    desk.post(
        f"/admin/accounts/account/{teacher.pk}/change/",
        {
            "full_name": "林志明",
            "office": "學務處",
            "title": "組長",
            "phone": "049-1",
            "email": "t@school.edu.tw",
            "is_superuser": "on",
            "is_staff": "on",
            "password": "x",
        },
    )
    teacher.refresh_from_db()
    assert teacher.office == "學務處"
    assert not teacher.is_superuser and not teacher.is_staff
    assert teacher.check_password(GOOD_PASSWORD)
    assert SecurityEvent.objects.filter(kind="profile_changed", account=teacher).exists()


def test_helpdesk_cannot_add_or_delete_accounts(desk, teacher):
    assert desk.get("/admin/accounts/account/add/").status_code == 403
    assert desk.get(f"/admin/accounts/account/{teacher.pk}/delete/").status_code == 403


def test_the_security_log_is_read_only(desk, teacher):
    sign_in(Client(), "010300_teacher01", WRONG)
    event = SecurityEvent.objects.get(kind="sign_in_failed")
    assert "010300_teacher01" in desk.get("/admin/accounts/securityevent/").content.decode()
    assert desk.get("/admin/accounts/securityevent/add/").status_code == 403
    assert desk.get(f"/admin/accounts/securityevent/{event.pk}/delete/").status_code == 403
    desk.post(f"/admin/accounts/securityevent/{event.pk}/change/", {"kind": "unlocked"})
    event.refresh_from_db()
    assert event.kind == "sign_in_failed"


def test_helpdesk_reads_the_outbox_and_resends_a_failed_mail(desk, teacher):
    row = OutboundEmail.objects.create(
        kind="account_created",
        account=teacher,
        to_address="t@school.edu.tw",
        subject="註冊會員成功通知",
        body_text="hello",
        status=OutboundEmail.Status.FAILED,
        attempts=6,
        last_error="ConnectionRefusedError",
    )
    page = desk.get("/admin/mail/outboundemail/").content.decode()
    assert "ConnectionRefusedError" in page
    desk.post(
        "/admin/mail/outboundemail/",
        {"action": "resend_selected", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert row.status == OutboundEmail.Status.SENT
    assert SecurityEvent.objects.filter(kind="mail_resent").exists()


def test_a_superuser_sees_the_permission_fields(client, school):
    Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    sign_in(client, "root", GOOD_PASSWORD)
    target = make_account(school, "teacher02")
    page = client.get(f"/admin/accounts/account/{target.pk}/change/").content.decode()
    assert "is_superuser" in page


def test_helpdesk_never_sees_a_link_or_code_in_the_outbox(desk, teacher):
    row = OutboundEmail.objects.create(
        kind="account_created",
        account=teacher,
        to_address=teacher.email,
        subject="註冊會員成功通知",
        body_text="http://x/ckverifycode/SECRET-TOKEN/",
        body_html="<a href='SECRET-TOKEN'>",
        carries_secret=True,
        status=OutboundEmail.Status.FAILED,
    )
    page = desk.get(f"/admin/mail/outboundemail/{row.pk}/change/").content.decode()
    assert "SECRET-TOKEN" not in page
    assert "不在後台顯示" in page


def test_helpdesk_cannot_change_a_staff_members_email(desk, helpdesk, db):
    colleague = Account.objects.create_user(
        "desk2", email="desk2@portal.example.tw", password=GOOD_PASSWORD, full_name="客服二號"
    )
    colleague.is_staff = True
    colleague.save()
    desk.post(
        f"/admin/accounts/account/{colleague.pk}/change/",
        {
            "full_name": "客服二號",
            "office": "",
            "title": "",
            "phone": "",
            "email": "attacker@evil.example",
        },
    )
    colleague.refresh_from_db()
    assert colleague.email == "desk2@portal.example.tw"


# --- Account care (SPEC section 10, seed 001) ---------------------------------------------


def act(desk, action, *accounts):
    return desk.post(
        "/admin/accounts/account/",
        {"action": action, "_selected_action": [a.pk for a in accounts]},
        follow=True,
    )


def test_helpdesk_resends_the_verification_mail_of_a_pending_account(desk, pending_main, helpdesk):
    from django.core import mail

    from tests.conftest import link_token

    old = link_token(mail.outbox[-1])
    act(desk, "resend_verification_selected", pending_main)
    new = link_token(mail.outbox[-1])
    assert old != new
    assert Client().get(f"/ckverifycode/{old}/").status_code == 404
    assert Client().get(f"/ckverifycode/{new}/").status_code == 200
    assert SecurityEvent.objects.filter(kind="verification_resent", actor=helpdesk).exists()


def test_helpdesk_disables_and_enables_accounts(desk, teacher, helpdesk):
    act(desk, "disable_selected", teacher)
    teacher.refresh_from_db()
    assert teacher.state == Account.State.DISABLED
    assert "此帳號已停用" in sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).content.decode()
    act(desk, "enable_selected", teacher)
    assert sign_in(Client(), "010300_teacher01", GOOD_PASSWORD).status_code == 302
    assert SecurityEvent.objects.filter(kind="account_disabled", actor=helpdesk).exists()


def test_a_reset_frees_the_name_for_the_same_person_only(desk, holder, teacher, helpdesk):
    from accounts.profile import Profile
    from schools.services.sub_accounts import create_sub_account

    act(desk, "reset_selected", teacher)
    teacher.refresh_from_db()
    assert teacher.state == Account.State.DISABLED
    assert teacher.username.startswith("010300_teacher01#reset")
    event = SecurityEvent.objects.get(kind="account_reset")
    assert event.actor == helpdesk and event.username == "010300_teacher01"
    someone_else = Profile("王大同", "教務處", "組長", "049-2910960", "wang@school.edu.tw")
    with pytest.raises(Exception, match="另一位人員"):
        create_sub_account(
            unit=holder.unit, local_part="teacher01", profile=someone_else, actor=holder
        )
    same_person = Profile("林志明", "教務處", "組長", "049-2910960", "teacher01@school.edu.tw")
    again = create_sub_account(
        unit=holder.unit, local_part="teacher01", profile=same_person, actor=holder
    )
    assert again.username == "010300_teacher01" and again.state == Account.State.PENDING


def test_helpdesk_cannot_act_on_a_superuser(desk, db):
    root = Account.objects.create_superuser(
        "root", email="root@portal.example.tw", password=GOOD_PASSWORD, full_name="管理者"
    )
    page = act(desk, "disable_selected", root).content.decode()
    assert "沒有權限" in page
    root.refresh_from_db()
    assert root.state == Account.State.ACTIVE


def test_one_page_answers_the_usual_helpdesk_calls(desk, holder, teacher):
    from stations.models import Station
    from stations.services import grant_station

    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    grant_station(account=teacher, station=station, actor=holder)
    OutboundEmail.objects.create(
        kind="account_created",
        account=teacher,
        to_address=teacher.email,
        subject="註冊會員成功通知",
        body_text="x",
        status=OutboundEmail.Status.FAILED,
        last_error="ConnectionRefusedError",
    )
    lock("010300_teacher01")
    page = desk.get(f"/admin/accounts/account/{teacher.pk}/change/").content.decode()
    assert "客服速查" in page
    assert "鎖定中" in page  # locked out
    assert "註冊會員成功通知" in page and "ConnectionRefusedError" in page  # no verification mail
    assert "公務統計報表" in page and "尚未同意" in page  # no station icon
    assert "登入失敗" in page  # recent events (forgot password and the like)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search indexes exist on PostgreSQL only"
)
@pytest.mark.parametrize(
    ("term", "indexes"),
    [
        ("teacher", ["account_username_trgm", "account_full_name_trgm", "account_email_trgm"]),
        ("林", ["account_full_name_prefix"]),
        ("Teacher01@School.edu.tw", ["account_email_lower"]),
        ("010300_t", ["_like"]),
    ],
)
def test_each_kind_of_search_term_is_answered_by_an_index(school, term, indexes):
    """Which indexes answer the search (in bitmap scans, the way PostgreSQL reads them once
    the table is too big to read whole; an empty test table would be read whole)."""
    queryset = Account.objects.filter(account_search(term)).order_by()
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        for method in ("seqscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    for index in indexes:
        assert index in plan, plan

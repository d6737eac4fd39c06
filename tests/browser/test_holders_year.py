"""The holder's year in a real Chromium (issue 18): a teacher asks for a sub-account and the
holder approves it; a holder works through the yearly account review; a holder imports a
2,000-row file and watches the progress bar. Each journey runs on a desktop window and at
390 px, every page checked by axe-core (tests/browser/conftest.py); screenshots in
var/screenshots/."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import Account
from schools.models import AccountImport, Unit
from schools.services import import_jobs
from schools.services.review_cycle import open_review
from stations.models import Station
from tests.browser.test_first_sign_in import solve_captcha
from tests.browser.test_holder_creates_a_teacher import sign_in_as
from tests.conftest import GOOD_PASSWORD, LINK_PATTERN, make_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEACHER_PASSWORD = "Sunrise!Bamboo-Ferry64"


def test_a_teacher_asks_for_a_sub_account_and_the_holder_approves_it(
    live_server, settings, open_page, viewport, page, screenshot, school, real_captcha
):
    settings.PORTAL_BASE_URL = live_server.url
    make_account(school, "admin01", role="main", full_name="王小明")
    Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/").save()

    page.goto(live_server.url + "/")
    page.click("text=申請子帳號")
    assert page.locator(".prefixed__prefix").inner_text() == "校代碼_"
    page.fill("#id_code", "010300")
    assert page.locator(".prefixed__prefix").inner_text() == "010300_"  # follows the code
    page.fill("#id_local_part", "huang")
    page.fill("#id_full_name", "黃淑芬")
    page.fill("#id_office", "學務處")
    page.fill("#id_title", "生教組長")
    page.fill("#id_phone", "049-2910960#3971")
    page.fill("#id_email", "huang@school")  # a typo first: refused, nothing lost
    page.check("text=公務統計報表")
    solve_captcha(page)
    page.click("main button.button--wide")
    assert "信箱格式不正確" in page.content()
    assert page.locator("#id_full_name").input_value() == "黃淑芬"
    screenshot("71-sub-account-request-refused")
    page.fill("#id_email", "huang@school.edu.tw")
    solve_captcha(page)
    page.click("main button.button--wide")
    page.wait_for_url(live_server.url + "/apply/sub-account/")
    assert "申請已送出" in page.content()
    screenshot("72-sub-account-request-sent")

    holder_page = open_page(viewport)
    sign_in_as(holder_page, live_server.url, "010300_admin01", GOOD_PASSWORD)
    holder_page.click("text=子帳號申請：1 件待審核")
    holder_page.wait_for_url(live_server.url + "/manage/requests/")
    screenshot("73-holder-requests", of=holder_page)
    title = holder_page.locator("input[name=title]")
    assert title.input_value() == "生教組長"
    title.fill("訓育組長")  # the holder corrects it before approving
    holder_page.click("text=核准並建立帳號")
    holder_page.wait_for_url(live_server.url + "/manage/requests/")
    assert "已建立子帳號 010300_huang" in holder_page.content()
    screenshot("74-request-approved", of=holder_page)
    account = Account.objects.get(username="010300_huang")
    assert account.title == "訓育組長" and account.station_grants.count() == 1

    page.goto(LINK_PATTERN.search(mail.outbox[-1].body).group(0))
    page.fill("#id_new_password1", TEACHER_PASSWORD)
    page.fill("#id_new_password2", TEACHER_PASSWORD)
    solve_captcha(page)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/login/")
    page.fill("#id_password", TEACHER_PASSWORD)
    solve_captcha(page)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert "黃淑芬您好" in page.content() and "公務統計報表" in page.content()


def test_a_holder_works_through_the_yearly_review(
    live_server, settings, page, screenshot, school, real_captcha
):
    settings.PORTAL_BASE_URL = live_server.url
    make_account(school, "admin01", role="main", full_name="王小明")
    for local, name in [
        ("teacher01", "林志明"),
        ("teacher02", "黃淑芬"),
        ("teacher03", "陳建宏"),
        ("teacher04", "李怡君"),
    ]:
        make_account(school, local, full_name=name)
    Account.objects.update(date_joined=timezone.now() - timedelta(days=400))
    today = timezone.localdate()
    open_review(
        side=Unit.Side.SCHOOL,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=20),
        actor=None,
    )
    sign_in_as(page, live_server.url, "010300_admin01", GOOD_PASSWORD)
    assert "帳號年度審核：已確認 0 / 4" in page.content()
    page.click("text=帳號年度審核：已確認 0 / 4")
    page.wait_for_url(live_server.url + "/manage/review/")
    screenshot("81-review-start")
    # one by one: teacher01 is still here
    page.locator("tr", has_text="010300_teacher01").locator("button", has_text="仍在職").click()
    page.wait_for_url(live_server.url + "/manage/review/")
    assert "已確認 1 / 4" in page.content()
    # teacher04 left: disabled after the confirmation dialog
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="010300_teacher04").locator("button", has_text="停用").click()
    page.wait_for_url(live_server.url + "/manage/review/")
    assert "已停用 1 個帳號：010300_teacher04" in page.content()
    # the rest at once: select all, 仍在職
    page.check("input[data-select-all]")
    page.click("#review-bulk button[value=confirm]")
    page.wait_for_url(live_server.url + "/manage/review/")
    content = page.content()
    assert "已確認 4 / 4" in content and "貴單位的子帳號都已確認完畢" in content
    screenshot("82-review-done")
    assert Account.objects.get(username="010300_teacher04").state == "disabled"
    assert Account.objects.filter(state="active", role="sub").count() == 3


def test_a_holder_disables_two_people_who_left_from_the_list(
    live_server, settings, page, screenshot, school, real_captcha
):
    """Bulk actions, and the list's words (issue 16.11): the login name's underscore stays
    visible, badges stay on one line, a station without consent says 尚未同意."""
    from stations.services import give_consent, grant_station

    settings.PORTAL_BASE_URL = live_server.url
    holder = make_account(school, "admin01", role="main", full_name="王小明")
    stats = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    stats.save()
    for local, name in [("teacher_a", "林志明"), ("teacher02", "黃淑芬"), ("teacher03", "陳建宏")]:
        grant_station(
            account=make_account(school, local, full_name=name), station=stats, actor=holder
        )
    give_consent(account=Account.objects.get(local_part="teacher02"), station=stats)
    sign_in_as(page, live_server.url, "010300_admin01", GOOD_PASSWORD)
    page.goto(live_server.url + "/manage/accounts/")
    assert page.locator(".chip__note").first.inner_text() == "尚未同意"
    badge = page.locator(".badge").first.bounding_box()
    assert badge["height"] < 30  # one line
    page.check("input[value='010300_teacher02']")
    page.check("input[value='010300_teacher03']")
    page.select_option("#bulk-action", "disable")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk-form button[type=submit]")
    page.wait_for_url(live_server.url + "/manage/accounts/")
    assert "已停用 2 個帳號：010300_teacher02、010300_teacher03" in page.content()
    screenshot("75-list-bulk-disabled")
    assert Account.objects.filter(state="disabled").count() == 2


def test_a_holder_imports_2000_rows_and_watches_the_progress_bar(
    live_server, settings, page, screenshot, school, tmp_path, monkeypatch
):
    """The upload returns at once; the worker (here a thread running the task's service)
    moves the bar, which the page updates without a reload; then the page shows the result.
    The worker pauses once at 600 rows, so the bar is seen mid-way whatever the machine's
    speed."""
    from portal.celery import app as celery_app

    settings.PORTAL_BASE_URL = live_server.url
    make_account(school, "admin01", role="main", full_name="王小明")
    lines = ["子帳號,姓名,處室名稱,職稱,電話(分機),信箱,編報站"] + [
        f"t{index:04d},教師{index},教務處,教師,049-2910960#{1000 + index},"
        f"t{index:04d}@school.edu.tw,"
        for index in range(2000)
    ]
    lines[5] = "bad name,教師,教務處,教師,492910960,bad,"  # one row the holder must fix
    csv_file = tmp_path / "teachers.csv"
    csv_file.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp950"))  # as Excel saves it
    at_600, go_on = threading.Event(), threading.Event()
    run_chunk = import_jobs._run_chunk

    def pausing_at_600(job, rows, checked):
        more = run_chunk(job, rows, checked)
        if AccountImport.objects.get(pk=job.pk).done == 600:
            at_600.set()
            go_on.wait(timeout=300)
        return more

    monkeypatch.setattr(import_jobs, "_run_chunk", pausing_at_600)

    sign_in_as(page, live_server.url, "010300_admin01", GOOD_PASSWORD)
    page.goto(live_server.url + "/manage/accounts/import/")
    celery_app.conf.task_always_eager = False  # a worker, not the request, imports it
    worker = None
    try:
        page.set_input_files("#id_file", str(csv_file))
        page.click("main button.button--wide")
        page.wait_for_selector("progress")
        job = AccountImport.objects.get()
        assert page.locator("[data-progress-text]").inner_text() == "已處理 0 / 2,000 列"
        screenshot("91-import-queued")
        loads = []
        page.on("load", lambda _page: loads.append(1))
        worker = threading.Thread(target=import_jobs.run_import, args=(job.pk,))
        worker.start()
        assert at_600.wait(timeout=300), "the worker never reached 600 rows"
        page.wait_for_function(
            "() => document.querySelector('progress').value === 600", timeout=60_000
        )
        assert page.locator("[data-progress-text]").inner_text() == "已處理 600 / 2,000 列"
        assert not loads  # the bar moved without the page being loaded again
        screenshot("92-import-progress")
        go_on.set()
        worker.join(timeout=600)
    finally:
        go_on.set()
        if worker is not None:
            worker.join(timeout=600)
        celery_app.control.purge()
        celery_app.conf.task_always_eager = True
    page.wait_for_selector("text=匯入結果", timeout=60_000)
    content = page.content()
    assert "成功建立 1999 個子帳號，1 列有錯誤" in content and "檔案編碼：Big5" in content
    screenshot("93-import-result")
    assert Account.objects.filter(role="sub").count() == 1999

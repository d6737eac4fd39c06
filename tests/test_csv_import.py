"""Importing sub-accounts from a CSV file (SPEC section 6, seed 003): both headers, with and
without BOM; every row checked by the create form's rules; good rows created and mailed,
bad rows listed with reasons and downloadable; bad files refused whole; the holder only."""

import csv
import io
import os
import re
import threading

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Account, SecurityEvent
from accounts.services.account_care import reset_account
from mail.models import OutboundEmail
from schools import csv_files
from schools.models import AccountImport
from schools.services.csv_import import check_rows
from stations.models import Station, StationGrant
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db

ENGLISH = "local_part,full_name,office,title,phone,email,stations"
CHINESE = "子帳號,姓名,處室名稱,職稱,電話(分機),信箱,編報站"
BOM = "\ufeff"


def csv_text(header, *rows):
    return "\r\n".join([header, *rows]) + "\r\n"


def row(local_part, full_name="黃淑芬", **fields):
    values = {
        "office": "學務處",
        "title": "生教組長",
        "phone": "049-2910960#3971",
        "email": f"{local_part.lower()}@school.edu.tw",
        "stations": "",
        **fields,
    }
    return ",".join([local_part, full_name, *(values[name] for name in csv_files.COLUMNS[2:])])


def upload(client, content, name="accounts.csv", follow=True):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post("/manage/accounts/import/", {"file": file}, follow=follow)


def parse_download(response):
    body = response.content.decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def stats(db):
    station = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    station.save()
    return station


@pytest.fixture
def budget(db):
    station = Station(slug="budget", name="資本門經費", entry_url="https://budget.example.tw/")
    station.save()
    return station


# --- Who may import ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/manage/accounts/import/",
        "/manage/accounts/import/template.csv",
        "/manage/accounts/import/result/",
        "/manage/accounts/import/failed.csv",
        "/manage/accounts/import/1/",
        "/manage/accounts/import/1/progress/",
        "/manage/accounts/import/1/failed.csv",
    ],
)
def test_a_guest_is_sent_to_sign_in_and_a_teacher_is_refused(client, teacher, path):
    assert client.get(path)["Location"].startswith("/login/?next=")
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    assert client.get(path).status_code == 403


def test_a_teacher_cannot_import(client, teacher):
    sign_in(client, "010300_teacher01", GOOD_PASSWORD)
    response = upload(client, csv_text(ENGLISH, row("teacher02")), follow=False)
    assert response.status_code == 403
    assert not Account.objects.filter(username="010300_teacher02").exists()


def test_a_guest_cannot_import(client, holder):
    response = upload(client, csv_text(ENGLISH, row("teacher02")), follow=False)
    assert response["Location"].startswith("/login/?next=")
    assert not Account.objects.filter(username="010300_teacher02").exists()


def test_the_other_units_holder_imports_into_their_own_unit_only(
    client, holder, teacher, other_holder
):
    sign_in(client, "010301_principal", GOOD_PASSWORD)
    page = upload(client, csv_text(ENGLISH, row("teacher01"))).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page
    created = Account.objects.get(username="010301_teacher01")
    assert created.unit == other_holder.unit
    assert Account.objects.filter(unit=holder.unit).count() == 2  # holder and teacher only


def test_one_holders_result_is_not_shown_to_another_units_holder(holder_in, holder, other_holder):
    upload(holder_in, csv_text(ENGLISH, row("x")))
    job = AccountImport.objects.get()
    other = type(holder_in)()
    sign_in(other, "010301_principal", GOOD_PASSWORD)
    assert other.get("/manage/accounts/import/result/")["Location"] == "/manage/accounts/import/"
    assert other.get("/manage/accounts/import/failed.csv")["Location"] == (
        "/manage/accounts/import/"
    )
    for path in ("", "progress/", "failed.csv"):
        assert other.get(f"/manage/accounts/import/{job.pk}/{path}").status_code == 404


# --- The page and the template file ----------------------------------------------------------


def test_the_page_explains_the_header_and_offers_the_template_and_an_upload_form(holder_in, stats):
    page = holder_in.get("/manage/accounts/import/").content.decode()
    assert CHINESE in page and ENGLISH in page
    assert "/manage/accounts/import/template.csv" in page
    assert 'enctype="multipart/form-data"' in page
    assert 'name="file"' in page and "csrfmiddlewaretoken" in page
    assert "stats" in page  # the station slugs the unit may use


def test_the_list_page_links_to_the_import(holder_in):
    assert "/manage/accounts/import/" in holder_in.get("/manage/accounts/").content.decode()


def test_the_template_file_has_a_bom_the_chinese_header_and_an_example_row(holder_in, stats):
    response = holder_in.get("/manage/accounts/import/template.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = parse_download(response)
    assert rows[0] == CHINESE.split(",")
    assert len(rows) == 2 and rows[1][0] and rows[1][6] == "stats"


def test_the_template_file_imports_as_it_is(holder_in, stats):
    template = holder_in.get("/manage/accounts/import/template.csv").content
    page = upload(holder_in, template).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page


# --- Good files --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [ENGLISH, CHINESE])
@pytest.mark.parametrize("bom", ["", BOM])
def test_a_good_file_creates_pending_accounts_grants_stations_and_mails_each(
    holder_in, holder, stats, budget, header, bom
):
    content = bom + csv_text(
        header,
        row("Teacher02", stations="stats;budget"),
        row("teacher03", full_name="陳建宏", stations="stats"),
        row("teacher04", full_name="李怡君"),
    )
    response = upload(holder_in, content)
    job = AccountImport.objects.get()
    assert response.redirect_chain[-1][0] == f"/manage/accounts/import/{job.pk}/"
    assert "成功建立 3 個子帳號，0 列有錯誤" in response.content.decode()
    created = Account.objects.filter(unit=holder.unit, role=Account.Role.SUB)
    assert set(created.values_list("username", flat=True)) == {
        "010300_teacher02",
        "010300_teacher03",
        "010300_teacher04",
    }
    assert all(account.state == Account.State.PENDING for account in created)
    assert sorted(StationGrant.objects.values_list("account__local_part", "station__slug")) == [
        ("teacher02", "budget"),
        ("teacher02", "stats"),
        ("teacher03", "stats"),
    ]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "teacher02@school.edu.tw",
        "teacher03@school.edu.tw",
        "teacher04@school.edu.tw",
    ]
    assert all("註冊會員成功通知" in message.subject for message in mail.outbox)
    assert SecurityEvent.objects.filter(kind="account_created", actor=holder).count() == 3


def test_spaces_full_width_header_blank_lines_and_trailing_commas_are_forgiven(holder_in):
    content = csv_text(
        " 子帳號 , 姓名,處室名稱,職稱,電話（分機）,信箱 ,編報站,,",
        "",
        row(" teacher02 ", email=" teacher02@school.edu.tw ") + ",,",
        ",,,,,,,,",
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page
    assert Account.objects.filter(username="010300_teacher02").exists()


# --- Files as Taiwanese offices make them (issue 16) ---------------------------------------------


def test_a_file_excel_saved_as_csv_in_big5_is_read(holder_in, holder):
    """Excel on a Taiwanese Windows saves "CSV (逗號分隔)" in Big5 (cp950)."""
    content = csv_text(CHINESE, row("teacher02", full_name="黃淑芬", office="學務處"))
    page = upload(holder_in, content.encode("cp950")).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page
    assert "檔案編碼：Big5" in page
    created = Account.objects.get(username="010300_teacher02")
    assert (created.full_name, created.office) == ("黃淑芬", "學務處")


@pytest.mark.parametrize(
    ("encode", "named"),
    [
        (lambda text: text.encode("utf-8"), "UTF-8"),
        (lambda text: (BOM + text).encode("utf-8"), "UTF-8"),
        (lambda text: text.encode("utf-16"), "UTF-16"),  # with its byte-order mark
        (lambda text: text.encode("utf-16-le"), "UTF-16"),
        (lambda text: text.replace(",", "\t").encode("utf-16"), "UTF-16"),  # Unicode text
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le-without-bom", "excel-unicode-text"],
)
def test_utf_8_and_utf_16_files_are_recognised(holder_in, encode, named):
    content = csv_text(CHINESE, row("teacher02", full_name="黃淑芬"), row("teacher03"))
    page = upload(holder_in, encode(content)).content.decode()
    assert "成功建立 2 個子帳號，0 列有錯誤" in page
    assert f"檔案編碼：{named}" in page
    assert Account.objects.get(username="010300_teacher02").full_name == "黃淑芬"


def test_stations_are_named_by_code_or_by_the_name_the_pages_show_in_any_case(
    holder_in, stats, budget
):
    content = csv_text(
        ENGLISH,
        row("teacher02", stations="STATS;資本門經費"),
        row("teacher03", stations="公務統計報表、Budget"),
        row("teacher04", stations="公務統計"),
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 2 個子帳號，1 列有錯誤" in page
    assert "找不到編報站「公務統計」" in page
    assert sorted(StationGrant.objects.values_list("account__local_part", "station__slug")) == [
        ("teacher02", "budget"),
        ("teacher02", "stats"),
        ("teacher03", "budget"),
        ("teacher03", "stats"),
    ]


@pytest.mark.parametrize(
    ("phone", "told"),
    [
        ("492910960", "請改成 0492910960"),
        ("912345678", "請改成 0912345678"),
        ("4.93E+08", "科學記號"),
    ],
)
def test_a_phone_excel_turned_into_a_number_is_flagged(holder_in, phone, told):
    page = upload(holder_in, csv_text(ENGLISH, row("teacher02", phone=phone))).content.decode()
    assert "成功建立 0 個子帳號，1 列有錯誤" in page
    assert "電話(分機)：" in page and told in page
    assert not Account.objects.filter(role="sub").exists()


def test_a_phone_with_its_zero_or_without_an_area_code_passes(holder_in):
    content = csv_text(ENGLISH, row("teacher02", phone="0492910960"), row("t3", phone="2910960"))
    assert "成功建立 2 個子帳號，0 列有錯誤" in upload(holder_in, content).content.decode()


def test_the_failed_rows_file_fixed_and_saved_again_by_excel_in_big5_uploads_as_it_is(
    holder_in, stats
):
    upload(
        holder_in,
        csv_text(
            CHINESE,
            row("teacher02", full_name="黃淑芬", phone="492910960", stations="公務統計報表"),
            row("teacher03", email="nobody"),
        ),
    )
    job = AccountImport.objects.get()
    download = holder_in.get(f"/manage/accounts/import/{job.pk}/failed.csv")
    text = download.content.decode("utf-8-sig")
    assert text.splitlines()[0] == CHINESE + ",錯誤原因"
    fixed = text.replace(",492910960,", ",0492910960,").replace(",nobody,", ",t3@school.edu.tw,")
    page = upload(holder_in, fixed.encode("cp950")).content.decode()
    assert "成功建立 2 個子帳號，0 列有錯誤" in page
    assert Account.objects.get(username="010300_teacher02").phone == "0492910960"
    assert StationGrant.objects.get().account.local_part == "teacher02"


# --- 停用 people who left: the 狀態 column (issue 18) -------------------------------------------


def test_a_state_column_disables_people_who_left_and_creates_the_rest(holder_in, holder, teacher):
    teachers_browser = Client()
    sign_in(teachers_browser, "010300_teacher01", GOOD_PASSWORD)
    content = csv_text(
        CHINESE + ",狀態",
        "teacher01,林志明,,,,,,停用",
        row("teacher02") + ",",
        "TEACHER01,,,,,,,停用",  # again, by its name in capitals: already done, no harm
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page and "停用 2 個子帳號" in page
    teacher.refresh_from_db()
    assert teacher.state == Account.State.DISABLED
    assert "林志明您好" not in teachers_browser.get("/").content.decode()
    event = SecurityEvent.objects.get(kind="account_disabled", account=teacher)
    assert event.actor == holder and event.detail["reason"] == "csv_import"
    assert Account.objects.get(username="010300_teacher02").state == Account.State.PENDING


def test_a_disable_row_naming_someone_else_or_nobody_is_refused(
    holder_in, holder, teacher, other_holder
):
    make_account(other_holder.unit, "teacher09")
    content = csv_text(
        ENGLISH + ",state",
        "teacher01,王大明,,,,,,disabled",  # the name is not teacher01's
        "nobody,,,,,,,停用",
        "admin01,,,,,,,停用",  # the holder's own account
        "teacher09,,,,,,,停用",  # another unit's
        "teacher01,林志明,,,,,,刪除",  # a state the import does not know
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 0 個子帳號，5 列有錯誤" in page
    assert "姓名與帳號 010300_teacher01 的姓名「林志明」不符" in page
    for name in ("nobody", "admin01", "teacher09"):
        assert f"找不到貴單位的子帳號 010300_{name}" in page
    assert "狀態：只能填「停用」" in page
    assert not Account.objects.filter(state=Account.State.DISABLED).exists()
    rows = parse_download(holder_in.get("/manage/accounts/import/failed.csv"))
    assert rows[0] == [*ENGLISH.split(","), "state", "錯誤原因"]
    assert rows[1][:8] == ["teacher01", "王大明", "", "", "", "", "", "disabled"]


# --- Bad rows ------------------------------------------------------------------------------------


def test_bad_rows_are_listed_with_every_reason_while_good_rows_are_created(holder_in, stats):
    content = csv_text(
        ENGLISH,
        row("teacher02", stations="stats"),
        row("a", full_name="", phone="abc", email="not-an-email"),
        row("teacher03", office="", title=""),
        row("teacher04", stations="stats;nosuch"),
        row("teacher05") + ",extra",
        row("teacher06", full_name="名" * 51),
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，5 列有錯誤" in page
    assert set(Account.objects.filter(role="sub").values_list("local_part", flat=True)) == {
        "teacher02"
    }
    assert [message.to for message in mail.outbox] == [["teacher02@school.edu.tw"]]
    for expected in (
        "第 3 列",
        "子帳號：帳號只能使用英文、數字",
        "姓名：請填寫姓名。",
        "電話(分機)：電話格式不正確",
        "信箱：信箱格式不正確",
        "第 4 列",
        "處室名稱：請填寫處室名稱。",
        "職稱：請填寫職稱。",
        "第 5 列",
        "找不到編報站「nosuch」",
        "第 6 列",
        "欄位比標題列多",
        "第 7 列",
        "姓名：最多 50 個字元",
    ):
        assert expected in page
    assert "第 2 列" not in page


def test_the_download_holds_exactly_the_failed_rows_with_their_reasons(holder_in):
    bad_phone = row("teacher03", phone="abc")
    bad_name = row("x")
    content = BOM + csv_text(CHINESE, row("teacher02"), bad_phone, row("teacher04"), bad_name)
    upload(holder_in, content)
    response = holder_in.get("/manage/accounts/import/failed.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = parse_download(response)
    assert rows[0] == [*CHINESE.split(","), "錯誤原因"]
    assert [r[:7] for r in rows[1:]] == [bad_phone.split(","), bad_name.split(",")]
    assert "電話格式不正確" in rows[1][7]
    assert "帳號只能使用英文" in rows[2][7]


def test_the_download_keeps_the_english_header_of_an_english_file(holder_in):
    upload(holder_in, csv_text(ENGLISH, row("teacher02", email="")))
    rows = parse_download(holder_in.get("/manage/accounts/import/failed.csv"))
    assert rows[0] == [*ENGLISH.split(","), "錯誤原因"]
    assert "信箱：請填寫公務信箱。" in rows[1][7]


def test_a_corrected_download_can_be_uploaded_again_with_its_reason_column(holder_in):
    upload(holder_in, csv_text(ENGLISH, row("teacher02", phone="abc")))
    download = holder_in.get("/manage/accounts/import/failed.csv").content.decode("utf-8")
    corrected = download.replace(",abc,", ",049-2910960#3971,")
    page = upload(holder_in, corrected).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page
    assert Account.objects.get(username="010300_teacher02").phone == "049-2910960#3971"


def test_a_local_part_repeated_in_the_file_is_refused_whatever_its_case(holder_in):
    content = csv_text(ENGLISH, row("teacher02"), row("Teacher02", full_name="陳建宏"))
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，1 列有錯誤" in page
    assert "與第 2 列的子帳號重複" in page
    assert Account.objects.get(username="010300_teacher02").full_name == "黃淑芬"


def test_a_local_part_already_in_the_unit_is_refused_even_when_disabled(holder_in, teacher):
    gone = make_account(teacher.unit, "retired")
    gone.state = Account.State.DISABLED
    gone.save(update_fields=["state"])
    content = csv_text(ENGLISH, row("TEACHER01"), row("retired"), row("teacher02"))
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，2 列有錯誤" in page
    assert "帳號 010300_teacher01 已有人使用" in page
    assert "帳號 010300_retired 已有人使用" in page
    teacher.refresh_from_db()
    assert teacher.full_name == "林志明"


def test_the_full_login_name_is_refused_with_a_hint(holder_in):
    page = upload(holder_in, csv_text(ENGLISH, row("010300_teacher02"))).content.decode()
    assert "只要填「010300_」後面的部分，例如 teacher02" in page
    assert not Account.objects.filter(role="sub").exists()


def test_a_local_part_freed_by_a_reset_goes_to_the_same_person_only(holder_in, holder, helpdesk):
    former = make_account(holder.unit, "teacher07", full_name="吳宗翰", email="wu@school.edu.tw")
    reset_account(account=former, actor=helpdesk)
    someone_else = row("teacher07", full_name="別人", email="someone@school.edu.tw")
    page = upload(holder_in, csv_text(ENGLISH, someone_else)).content.decode()
    assert "這個帳號以前屬於另一位人員" in page
    assert not Account.objects.filter(username="010300_teacher07").exists()
    same_person = row("Teacher07", full_name="吳宗翰", email="WU@school.edu.tw")
    page = upload(holder_in, csv_text(ENGLISH, same_person)).content.decode()
    assert "成功建立 1 個子帳號，0 列有錯誤" in page
    assert Account.objects.get(username="010300_teacher07").full_name == "吳宗翰"


def test_a_station_that_is_unknown_inactive_or_for_the_other_side_is_refused(holder_in, stats):
    Station(slug="review", name="審查系統", entry_url="https://r.test/", sides=["admin"]).save()
    Station(slug="old", name="舊系統", entry_url="https://o.test/", is_active=False).save()
    content = csv_text(
        ENGLISH,
        row("teacher02", stations="nosuch"),
        row("teacher03", stations="stats;review"),
        row("teacher04", stations="old"),
        row("teacher05", stations="stats; ;stats"),
    )
    page = upload(holder_in, content).content.decode()
    assert "成功建立 1 個子帳號，3 列有錯誤" in page
    for slug in ("nosuch", "review", "old"):
        assert f"找不到編報站「{slug}」" in page
    assert list(StationGrant.objects.values_list("account__local_part", "station__slug")) == [
        ("teacher05", "stats")
    ]


# --- Bad files -----------------------------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (PNG, "無法讀取這個檔案：請上傳 CSV 檔"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" * 40, "無法讀取這個檔案"),
        (b"", "檔案是空的"),
        (BOM.encode() + b"\r\n  \r\n", "檔案是空的"),
        (csv_text(ENGLISH.replace("local_part", "account"), row("t2")), "第一列（標題列）必須是"),
        (csv_text(",".join(reversed(ENGLISH.split(","))), row("t2")), "第一列（標題列）必須是"),
        (csv_text(ENGLISH), "沒有任何資料列"),
        (csv_text(ENGLISH, 'teacher02,"黃淑芬,學務處'), "CSV 格式有誤"),
    ],
    ids=["png", "xlsx", "empty", "blank", "wrong-header", "wrong-order", "header-only", "quotes"],
)
def test_a_file_that_cannot_be_read_gets_a_message_and_creates_nothing(holder_in, content, message):
    response = upload(holder_in, content, follow=False)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "field--error" in page
    assert Account.objects.count() == 1  # the holder
    assert not OutboundEmail.objects.exists() and not mail.outbox


def test_a_field_over_the_csv_limit_is_told_as_too_long_and_a_lone_quote_as_a_quote(holder_in):
    """The csv module refuses a field over its size limit (131,072 characters) with an error
    of its own: it is not a quote left open."""
    limit = csv.field_size_limit()
    too_long = csv_text(ENGLISH, row("teacher02"), row("teacher03", title="長" * (limit + 1)))
    page = upload(holder_in, too_long, follow=False).content.decode()
    assert f"檔案第 3 行附近有一個欄位超過 {limit} 個字元，太長了無法匯入" in page
    assert "CSV 格式有誤" not in page
    lone_quote = csv_text(ENGLISH, row("teacher02"), 'teacher03,"黃淑芬,學務處')
    page = upload(holder_in, lone_quote, follow=False).content.decode()
    assert "檔案第 3 行附近的 CSV 格式有誤（例如引號「&quot;」不成對）" in page
    assert "太長" not in page
    assert not Account.objects.filter(role="sub").exists()


def test_posting_without_a_file_asks_for_one(holder_in):
    response = holder_in.post("/manage/accounts/import/", {})
    assert response.status_code == 200
    assert "請選擇要匯入的 CSV 檔" in response.content.decode()


def test_a_file_over_4_mb_is_refused_whole(holder_in):
    content = csv_text(ENGLISH, row("teacher02", title="x" * 4 * 1024 * 1024))
    assert len(content.encode()) > 4 * 1024 * 1024
    page = upload(holder_in, content, follow=False).content.decode()
    assert "檔案太大：最多 4 MB" in page
    assert not Account.objects.filter(role="sub").exists()
    assert not AccountImport.objects.exists()


def test_a_file_over_10000_rows_is_refused_whole(holder_in):
    content = csv_text(ENGLISH, *(row(f"t{index}") for index in range(10_001)))
    page = upload(holder_in, content, follow=False).content.decode()
    assert "一次最多匯入 10,000 列" in page
    assert not Account.objects.filter(role="sub").exists()
    assert not AccountImport.objects.exists()
    assert not mail.outbox


def test_the_result_and_the_download_need_an_import_first(holder_in):
    assert holder_in.get("/manage/accounts/import/result/")["Location"] == (
        "/manage/accounts/import/"
    )
    assert holder_in.get("/manage/accounts/import/failed.csv")["Location"] == (
        "/manage/accounts/import/"
    )
    upload(holder_in, csv_text(ENGLISH, row("teacher02")))
    job = AccountImport.objects.get()
    assert holder_in.get("/manage/accounts/import/result/")["Location"] == (
        f"/manage/accounts/import/{job.pk}/"
    )
    nothing_failed = holder_in.get("/manage/accounts/import/failed.csv", follow=True)
    assert "這次匯入沒有失敗的資料列可以下載" in nothing_failed.content.decode()


# --- Performance ----------------------------------------------------------------------------------


def test_checking_rows_costs_the_same_queries_for_few_or_many_rows(holder, teacher, stats):
    """Names in use, freed names and stations are loaded once per file, not once per row."""

    def queries_for(count):
        rows = [
            (index + 2, tuple(row(f"t{index}", email="bad", stations="stats").split(",")))
            for index in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            good, failed = check_rows(unit=holder.unit, rows=rows)
        assert not good and len(failed) == count
        return len(queries)

    assert queries_for(3) == queries_for(300)


# --- Two imports at once ----------------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="two imports at once need PostgreSQL's row locks (CI sets DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_names_in_opposite_order_both_finish_and_create_each_once(holder):
    """Each row is either created by one of the two or listed as failed by the other with
    its reason; both holders get their result page, their failed rows in the upload's order."""
    names = [f"t{index:02d}" for index in range(50)]
    files = {
        "forward": csv_text(ENGLISH, *(row(name) for name in names)),
        "backward": csv_text(ENGLISH, *(row(name) for name in reversed(names))),
    }
    clients = {}
    for order in files:
        clients[order] = Client(raise_request_exception=False)
        assert sign_in(clients[order], "010300_admin01", GOOD_PASSWORD).status_code == 302
    barrier = threading.Barrier(2)
    answers = {}

    def run(order):
        try:
            barrier.wait()
            answers[order] = upload(clients[order], files[order], follow=False)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(order,)) for order in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for order, response in answers.items():
        assert response.status_code == 302, f"the {order} import got {response.status_code}"
        assert re.fullmatch(r"/manage/accounts/import/\d+/", response["Location"])
    assert answers["forward"]["Location"] != answers["backward"]["Location"]
    assert sorted(Account.objects.filter(role="sub").values_list("local_part", flat=True)) == names
    failed = {}
    for order, client in clients.items():
        download = client.get(answers[order]["Location"] + "failed.csv")
        rows = parse_download(download)[1:] if download.status_code == 200 else []
        # created a moment ago by the other import, or already there when this one began
        assert all("已被建立" in cells[-1] or "已有人使用" in cells[-1] for cells in rows)
        failed[order] = [cells[0] for cells in rows]
    assert sorted(failed["forward"] + failed["backward"]) == names  # each failed once
    assert failed["forward"] == sorted(failed["forward"])  # as uploaded
    assert failed["backward"] == sorted(failed["backward"], reverse=True)

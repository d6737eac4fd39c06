"""The operator commands of SPEC section 14, and the database rules under them."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.models import Account
from schools.models import Unit
from tests.conftest import link_token

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def write_csv(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "units.csv"
    path.write_text(text, encoding=encoding)
    return str(path)


def import_units(path):
    out = StringIO()
    call_command("import_units", path, stdout=out)
    return out.getvalue()


# --- import_units -------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_creates_units_from_csv(tmp_path):
    path = write_csv(
        tmp_path, "code,name,side\n010300,國立示範高級中學,school\nMOE001,國教署,admin\n"
    )

    output = import_units(path)

    assert "新增 2 個單位，更新 0 個單位" in output
    assert Unit.objects.get(code="010300").side == Unit.Side.SCHOOL
    assert Unit.objects.get(code="MOE001").name == "國教署"
    assert Unit.objects.get(code="MOE001").side == Unit.Side.ADMIN


def test_it_updates_units_it_already_has(tmp_path, school):
    path = write_csv(tmp_path, "code,name,side\n010300,國立示範高中（改名）,admin\n")

    output = import_units(path)

    assert "新增 0 個單位，更新 1 個單位" in output
    school.refresh_from_db()
    assert school.name == "國立示範高中（改名）"
    assert school.side == Unit.Side.ADMIN
    assert Unit.objects.count() == 1


@pytest.mark.django_db
def test_it_reads_utf8_with_a_bom(tmp_path):
    path = write_csv(tmp_path, "code,name,side\n010300,國立示範高級中學,school\n", "utf-8-sig")
    assert Path(path).read_bytes().startswith(b"\xef\xbb\xbf")

    import_units(path)

    assert Unit.objects.get(code="010300").name == "國立示範高級中學"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id,name,side\n010300,示範高中,school\n", "標題列必須是 code,name,side"),
        (
            "code,name,side\n010300,示範高中,school\n010301,和平高中,district\n",
            "第 3 列：數值 'district' 不是有效的選項",
        ),
        ("code,name,side\n010300,示範高中,school\n01-03,和平高中,school\n", "單位代碼須為"),
        ("code,name,side\n010300,示範高中,school\nAB,和平高中,school\n", "單位代碼須為"),
        ("code,name,side\nABC001,甲,school\nabc001,乙,school\n", "代碼 abc001 重複"),
    ],
    ids=["bad header", "bad side", "bad code", "short code", "duplicate code"],
)
def test_it_refuses_a_bad_file_and_imports_nothing(tmp_path, text, reason):
    path = write_csv(tmp_path, text)

    with pytest.raises(CommandError) as refusal:
        import_units(path)

    assert reason in str(refusal.value)
    assert not Unit.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_file_that_is_not_there(tmp_path):
    with pytest.raises(CommandError, match="找不到檔案"):
        import_units(str(tmp_path / "missing.csv"))


def test_the_real_command_exits_non_zero_on_a_missing_file(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PORTAL_VAR_DIR"] = str(tmp_path)

    finished = subprocess.run(
        [sys.executable, "manage.py", "import_units", str(tmp_path / "missing.csv")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "找不到檔案" in finished.stderr


# --- create_main_account -----------------------------------------------------------------


def create_main_account(**overrides):
    options = {
        "unit": "010300",
        "local": "Admin01",
        "name": "王小明",
        "email": "wang@school.edu.tw",
        "office": "教務處",
        "title": "教務主任",
        "phone": "049-2910960#3765",
        **overrides,
    }
    argv = [part for name, value in options.items() for part in (f"--{name}", value)]
    out = StringIO()
    call_command("create_main_account", *argv, stdout=out)
    return out.getvalue()


def test_it_creates_a_pending_main_account_and_mails_it(school, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = create_main_account()

    account = Account.objects.get(unit=school)
    assert account.username == "010300_admin01"
    assert account.local_part == "admin01"
    assert account.role == Account.Role.MAIN
    assert account.state == Account.State.PENDING
    assert not account.has_usable_password()
    assert (account.full_name, account.office, account.title) == ("王小明", "教務處", "教務主任")
    assert "010300_admin01" in output
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["wang@school.edu.tw"]
    assert link_token(mail.outbox[0])


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"unit": "999999"}, "找不到單位代碼 999999"),
        ({"local": "a"}, "local_part"),
        ({"local": "bad name!"}, "local_part"),
        ({"local": "x" * 31}, "local_part"),
        ({"email": "not-an-email"}, "信箱格式不正確"),
        ({"name": "  "}, "請填寫姓名"),
    ],
    ids=["unknown unit", "short local", "bad characters", "31 characters", "bad e-mail", "no name"],
)
def test_it_refuses_bad_values_and_creates_nothing(
    school, django_capture_on_commit_callbacks, overrides, reason
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as refusal:
        create_main_account(**overrides)

    assert reason in str(refusal.value)
    assert not Account.objects.exists()
    assert mail.outbox == []


def test_it_refuses_a_second_main_account(holder, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as refusal:
        create_main_account(local="successor")

    assert "單位 010300 已有主帳號" in str(refusal.value)
    assert list(Account.objects.all()) == [holder]
    assert mail.outbox == []


def test_it_refuses_a_login_name_already_taken(teacher, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError) as refusal:
        create_main_account(local="Teacher01")

    assert "帳號 010300_teacher01 已有人使用" in str(refusal.value)
    assert list(Account.objects.all()) == [teacher]


# --- What the database itself refuses ----------------------------------------------------


def new_account(unit, local_part, role):
    return Account.objects.create(
        username=f"{unit.code}_{local_part}",
        unit=unit,
        local_part=local_part,
        role=role,
        full_name="測試人員",
        email=f"{local_part}@school.edu.tw",
    )


def test_the_database_refuses_a_second_main_account_in_a_unit(holder):
    with pytest.raises(IntegrityError), transaction.atomic():
        new_account(holder.unit, "another", Account.Role.MAIN)

    assert Account.objects.filter(unit=holder.unit, role=Account.Role.MAIN).get() == holder
    # A sub-account beside it is fine, and so is a main account in another unit.
    new_account(holder.unit, "another", Account.Role.SUB)
    other = Unit.objects.create(code="010301", name="市立和平高級中學")
    new_account(other, "principal", Account.Role.MAIN)


def test_the_database_refuses_a_login_name_that_is_not_lowercase(teacher):
    # Account.save() lowercases; an UPDATE goes around it and meets the constraint.
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=teacher.pk).update(username="010300_Teacher01")

    teacher.refresh_from_db()
    assert teacher.username == "010300_teacher01"

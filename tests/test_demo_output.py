"""What `make run` prints (issue 16, point 17): the demo's table of accounts first, no whole
HTML mails, and the same table telling the truth on a second run after the demo accounts
were changed (a new password, a transfer, a disabled account, two-factor)."""

from io import StringIO
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.core.management import call_command

from accounts.management.commands.demo import DEMO_PASSWORD
from accounts.models import Account
from mail.backends import ConsoleAndFileBackend
from tests.conftest import GOOD_PASSWORD, bind_two_factor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def console_mail(settings, tmp_path):
    settings.EMAIL_BACKEND = "mail.backends.ConsoleAndFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    return tmp_path / "mail"


def run_demo(capsys) -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return capsys.readouterr().out + out.getvalue()


def lines_of(output, username):
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(username))
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 24):
            break
        block.append(line)
    return "\n".join(block)


def test_the_demo_prints_its_table_first_and_no_whole_mails(console_mail, capsys):
    output = run_demo(capsys)

    first = next(line for line in output.splitlines() if line.strip())
    assert first.startswith("Demo data ready. Sign in at ")
    assert "<html" not in output and "Content-Type" not in output and "Mail to" not in output
    assert len(list(console_mail.glob("*.eml"))) >= 1  # the mails are kept all the same
    assert f"kept in {console_mail}/" in output


def test_a_second_run_tells_the_truth_about_changed_accounts(console_mail, capsys):
    run_demo(capsys)
    teacher = Account.objects.get(username="010301_teacher01")
    teacher.set_password(GOOD_PASSWORD)
    teacher.save()
    Account.objects.filter(username="010301_principal").update(role=Account.Role.SUB)
    Account.objects.filter(username="010301_teacher01").update(role=Account.Role.MAIN)
    Account.objects.filter(username="010301_teacher02").update(state=Account.State.DISABLED)
    bind_two_factor(Account.objects.get(username="moe001_reviewer"), DEMO_PASSWORD)

    output = run_demo(capsys)

    assert "主帳號" in lines_of(output, "010301_teacher01")
    assert "password: the one you set" in lines_of(output, "010301_teacher01")
    assert "子帳號" in lines_of(output, "010301_principal")
    assert "the one you set" not in lines_of(output, "010301_principal")
    assert "state: 停用" in lines_of(output, "010301_teacher02")
    assert "two-factor bound" in lines_of(output, "moe001_reviewer")
    assert "010301_teacher01 manages 010301's sub-accounts" in output
    # nothing the person changed was put back
    assert Account.objects.get(username="010301_teacher01").check_password(GOOD_PASSWORD)
    assert Account.objects.get(username="010301_teacher02").state == Account.State.DISABLED


def test_the_console_shows_a_mails_subject_and_text_not_its_html(console_mail):
    stream = StringIO()
    message = django_mail.EmailMultiAlternatives(
        "註冊會員成功通知", "請點擊以下連結：http://x/ckverifycode/abc/", to=["a@b.tw"]
    )
    message.attach_alternative("<html><body>HTML 版</body></html>", "text/html")

    ConsoleAndFileBackend(stream=stream).send_messages([message])

    printed = stream.getvalue()
    assert "Mail to a@b.tw: 註冊會員成功通知" in printed
    assert "http://x/ckverifycode/abc/" in printed
    assert "<html" not in printed and "Content-Type" not in printed
    assert str(console_mail) in printed  # where the whole message is kept


def test_the_readme_documents_the_port_and_shows_what_the_demo_prints(console_mail, capsys):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "make run PORT=8016" in readme
    sample = readme.split("It prints the demo accounts first, for example:\n\n```\n")[1]
    sample = sample.split("```")[0].splitlines()

    output = run_demo(capsys)

    for line in sample[:9]:  # the table, line by line
        assert line in output.splitlines(), line

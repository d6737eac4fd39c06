"""The demo data a newcomer's `make run` loads: complete, and safe to load again."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Account
from announcements.models import Announcement, Attachment
from mail.models import OutboundEmail
from schools.models import AccountReview, SubAccountRequest
from stations.models import Station, StationGrant
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def counted():
    return (
        Account.objects.count(),
        Station.objects.count(),
        StationGrant.objects.count(),
        Announcement.objects.count(),
        SubAccountRequest.objects.count(),
        AccountReview.objects.count(),
        Attachment.objects.count(),
    )


def test_the_demo_loads_every_feature_and_can_run_again(settings, tmp_path):
    settings.EMAIL_BACKEND = "mail.backends.ConsoleAndFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.MEDIA_ROOT = tmp_path / "media"
    first = run_demo()
    counts = counted()
    second = run_demo()
    assert counts == counted()
    for output in (first, second):
        assert "Every demo password, unless you changed it since: Demo-Portal-2026!tw" in output
        assert re.search(r"Set its password here:\s+http://\S+/ckverifycode/\S+/", output)
    assert Account.objects.get(username="010300_admin01").state == Account.State.PENDING
    assert Account.objects.filter(username="admin", is_superuser=True).exists()
    assert Station.objects.filter(slug="demo").exists()
    # each run sends the pending main account a fresh link, kept as an .eml file
    assert OutboundEmail.objects.filter(kind="account_created").count() >= 1
    assert len(list((tmp_path / "mail").glob("*.eml"))) >= 2


def test_the_demo_has_a_pending_request_an_open_review_and_a_manual_in_pdf(settings, tmp_path):
    settings.EMAIL_BACKEND = "mail.backends.ConsoleAndFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    settings.MEDIA_ROOT = tmp_path / "media"
    output = run_demo()
    assert "/manage/requests/" in output and "/manage/review/" in output
    request = SubAccountRequest.objects.get(status="pending")
    assert request.unit.code == "010301"
    review = AccountReview.objects.get(closed_at=None)
    assert review.starts_on <= timezone.localdate() <= review.ends_on
    principal = Client()
    assert sign_in(principal, "010301_principal", "Demo-Portal-2026!tw").status_code == 302
    page = principal.get("/manage/review/").content.decode()
    assert "已確認 0 / 2" in page and "010301_teacher01" in page
    assert "吳宗翰" in principal.get("/manage/requests/").content.decode()
    pdf = Attachment.objects.filter(
        content_type="application/pdf", announcement__audience="guest"
    ).first()
    assert pdf is not None and pdf.announcement.is_manual
    assert pdf.file.open("rb").read(5) == b"%PDF-"
    assert pdf.name in Client().get("/manuals/").content.decode()

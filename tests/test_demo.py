"""The demo data a newcomer's `make run` loads: complete, and safe to load again."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Account
from announcements.models import Announcement
from mail.models import OutboundEmail
from stations.models import Station, StationGrant

pytestmark = pytest.mark.django_db(transaction=True)


def run_demo() -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_the_demo_loads_every_feature_and_can_run_again(settings, tmp_path):
    settings.EMAIL_BACKEND = "mail.backends.ConsoleAndFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    first = run_demo()
    counts = (
        Account.objects.count(),
        Station.objects.count(),
        StationGrant.objects.count(),
        Announcement.objects.count(),
    )
    second = run_demo()
    assert counts == (
        Account.objects.count(),
        Station.objects.count(),
        StationGrant.objects.count(),
        Announcement.objects.count(),
    )
    for output in (first, second):
        assert "Every demo password, unless you changed it since: Demo-Portal-2026!tw" in output
        assert re.search(r"Set its password here:\s+http://\S+/ckverifycode/\S+/", output)
    assert Account.objects.get(username="010300_admin01").state == Account.State.PENDING
    assert Account.objects.filter(username="admin", is_superuser=True).exists()
    assert Station.objects.filter(slug="demo").exists()
    # each run sends the pending main account a fresh link, kept as an .eml file
    assert OutboundEmail.objects.filter(kind="account_created").count() >= 1
    assert len(list((tmp_path / "mail").glob("*.eml"))) >= 2

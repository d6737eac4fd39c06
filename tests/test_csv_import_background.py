"""The CSV import as a background job (issue 18): the upload's request stores the rows and
returns at once; a Celery task imports them a chunk at a time with the progress committed
alongside, so the page shows rows done / total, and a run that dies mid-chunk is taken up
where it stopped without creating a row twice. (A real worker killed mid-import on
PostgreSQL and Redis: tests/test_live_services.py.)"""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from mail.models import OutboundEmail
from portal.celery import app as celery_app
from schools.models import AccountImport, ImportedRow
from schools.services import import_jobs
from stations.models import Station, StationGrant
from tests.conftest import GOOD_PASSWORD, make_account, sign_in

pytestmark = pytest.mark.django_db

HEADER = "子帳號,姓名,處室名稱,職稱,電話(分機),信箱,編報站"


def rows_file(count, start=0, stations=""):
    lines = [HEADER] + [
        f"t{index:05d},教師{index},教務處,教師,049-2910960#{index % 9000 + 1000},"
        f"t{index:05d}@school.edu.tw,{stations}"
        for index in range(start, start + count)
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def upload(client, content, follow=False):
    file = SimpleUploadedFile("accounts.csv", content, content_type="text/csv")
    return client.post("/manage/accounts/import/", {"file": file}, follow=follow)


@pytest.fixture
def holder_in(client, holder):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    return client


@pytest.fixture
def no_worker(monkeypatch):
    """As production runs it, with no worker yet: tasks wait in the broker (memory:// here)."""
    monkeypatch.setattr("django.test.client.store_rendered_templates", lambda *args, **kw: None)
    celery_app.conf.task_always_eager = False
    yield
    celery_app.control.purge()
    celery_app.conf.task_always_eager = True


def test_the_upload_stores_the_rows_and_returns_before_any_account_is_made(
    holder_in, holder, no_worker
):
    response = upload(holder_in, rows_file(300))
    job = AccountImport.objects.get()
    assert response["Location"] == f"/manage/accounts/import/{job.pk}/"
    assert (job.status, job.done, job.total, job.actor) == ("queued", 0, 300, holder)
    assert not Account.objects.filter(role=Account.Role.SUB).exists()
    page = holder_in.get(response["Location"]).content.decode()
    assert "已處理 0 / 300 列" in page
    assert '<progress class="progress" max="300" value="0"' in page
    assert f'data-progress-url="/manage/accounts/import/{job.pk}/progress/"' in page
    # without JavaScript the page refreshes itself
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert holder_in.get(f"/manage/accounts/import/{job.pk}/progress/").json() == {
        "done": 0,
        "total": 300,
        "finished": False,
        "text": "已處理 0 / 300 列",
    }


def test_the_worker_moves_the_progress_a_chunk_at_a_time_then_the_page_shows_the_result(
    holder_in, holder, no_worker, monkeypatch
):
    upload(holder_in, rows_file(250))
    job = AccountImport.objects.get()
    seen = []
    original = import_jobs._run_chunk

    def watching(*args):
        more = original(*args)
        progress = holder_in.get(f"/manage/accounts/import/{job.pk}/progress/").json()
        seen.append((progress["done"], progress["finished"]))
        return more

    monkeypatch.setattr(import_jobs, "_run_chunk", watching)
    import_jobs.run_import(job.pk)  # what the worker's task runs
    assert seen == [(100, False), (200, False), (250, True)]
    page = holder_in.get(f"/manage/accounts/import/{job.pk}/").content.decode()
    assert "成功建立 250 個子帳號，0 列有錯誤" in page
    assert "<progress" not in page
    assert Account.objects.filter(role=Account.Role.SUB, state="pending").count() == 250


def test_10000_rows_are_stored_in_one_request_that_does_not_grow_with_the_file(
    holder_in, holder, no_worker
):
    """The request's work is one INSERT of the rows, whatever their number: no row is
    checked or created in it, so 10,000 rows need no longer request than 10."""

    def queries_for(count):
        with CaptureQueriesContext(connection) as queries:
            response = upload(holder_in, rows_file(count, start=count))
        assert response.status_code == 302
        return len(queries)

    assert queries_for(10) == queries_for(10_000)
    job = AccountImport.objects.get(total=10_000)
    assert len(json.loads(job.rows)) == 10_000
    assert not Account.objects.filter(role=Account.Role.SUB).exists()


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing of ours catches it."""


def test_a_run_that_dies_mid_chunk_is_resumed_and_creates_no_row_twice(
    holder_in, holder, no_worker, monkeypatch
):
    stats = Station(slug="stats", name="公務統計報表", entry_url="https://stats.example.tw/")
    stats.save()
    upload(holder_in, rows_file(250, stations="stats"))
    job = AccountImport.objects.get()
    original = import_jobs.create_sub_account
    calls = []

    def dies_at_the_150th(**kwargs):
        calls.append(kwargs["local_part"])
        if len(calls) == 150:
            raise WorkerKilled
        return original(**kwargs)

    monkeypatch.setattr(import_jobs, "create_sub_account", dies_at_the_150th)
    with pytest.raises(WorkerKilled):
        import_jobs.run_import(job.pk)
    job.refresh_from_db()
    # the first chunk committed with its progress; the second was rolled back whole
    assert (job.done, job.status, job.created_count) == (100, "running", 100)
    assert Account.objects.filter(role=Account.Role.SUB).count() == 100
    assert OutboundEmail.objects.filter(kind="account_created").count() == 100

    monkeypatch.setattr(import_jobs, "create_sub_account", original)
    import_jobs.run_import(job.pk)  # the next worker
    job.refresh_from_db()
    assert (job.done, job.status, job.created_count, job.failed_count) == (250, "done", 250, 0)
    assert Account.objects.filter(role=Account.Role.SUB).count() == 250
    assert ImportedRow.objects.filter(account_import=job).count() == 250
    assert OutboundEmail.objects.filter(kind="account_created").count() == 250
    assert StationGrant.objects.filter(station=stats).count() == 250
    import_jobs.run_import(job.pk)  # a late redelivery of the first task: nothing more
    assert ImportedRow.objects.filter(account_import=job).count() == 250


def test_the_beat_task_hands_an_import_without_progress_to_a_worker_after_the_lease(
    holder_in, holder, settings, no_worker
):
    upload(holder_in, rows_file(30))  # its task is lost with the broker's memory
    celery_app.control.purge()
    job = AccountImport.objects.get()
    assert import_jobs.resume_stalled_imports() == 0  # within the lease: a worker may have it
    celery_app.conf.task_always_eager = True  # the worker that takes the handed-over task
    later = timezone.now() + timedelta(seconds=settings.ACCOUNT_IMPORT_LEASE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert import_jobs.resume_stalled_imports() == 1
        job.refresh_from_db()
        assert job.status == "done" and job.created_count == 30
        assert import_jobs.resume_stalled_imports() == 0  # done: never handed over again


def test_on_the_embedded_default_the_import_runs_in_the_request_and_the_result_follows(
    holder_in, holder
):
    """Celery eager (no broker): the same pages, the import done by the time they show."""
    response = upload(holder_in, rows_file(120), follow=True)
    page = response.content.decode()
    assert "成功建立 120 個子帳號，0 列有錯誤" in page
    assert len(mail.outbox) == 120


def test_the_result_page_lists_the_first_accounts_and_costs_the_same_queries_for_more(
    holder_in, holder
):
    def page_queries(count, start):
        upload(holder_in, rows_file(count, start=start))
        job = AccountImport.objects.latest("pk")
        holder_in.get(f"/manage/accounts/import/{job.pk}/")
        with CaptureQueriesContext(connection) as queries:
            page = holder_in.get(f"/manage/accounts/import/{job.pk}/").content.decode()
        return len(queries), page

    few, _page = page_queries(3, 0)
    many, page = page_queries(260, 10)
    assert few == many
    assert "只列出前 200 個" in page


def test_an_import_of_another_unit_is_not_found(client, other_holder, holder):
    make_account(holder.unit, "teacher01")
    job = AccountImport.objects.create(
        unit=holder.unit, actor=holder, header="zh", rows="[]", total=0
    )
    sign_in(client, "010301_principal", GOOD_PASSWORD)
    assert client.get(f"/manage/accounts/import/{job.pk}/").status_code == 404
    assert client.get(f"/manage/accounts/import/{job.pk}/progress/").status_code == 404

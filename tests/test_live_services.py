"""The real stack: PostgreSQL, Redis and a live Celery worker. CI sets DATABASE_URL and
REDIS_URL when those servers answer; without them these tests are skipped, and say so."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from mail.models import OutboundEmail
from mail.outbox import sweep_outbox
from portal.celery import app as celery_app

pytestmark = [
    pytest.mark.live_services,
    pytest.mark.skipif(
        not os.environ.get("REDIS_URL"),
        reason="REDIS_URL is not set: the live Celery worker test needs Redis (CI sets it)",
    ),
]


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_delivers_the_account_created_mail_through_redis_to_smtp(
    school, sink_factory, smtp_settings
):
    sink, port = sink_factory()
    smtp_settings(port)
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            account = create_main_account(
                unit=school,
                local_part="admin01",
                profile=Profile(
                    "王小明", "教務處", "教務主任", "049-2910960", "wang@school.edu.tw"
                ),
            )
            deadline = time.monotonic() + 30
            while not sink.messages and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        celery_app.conf.task_always_eager = True
    assert len(sink.messages) == 1
    envelope = sink.messages[0]
    assert envelope.rcpt_tos == [account.email]
    assert b"/ckverifycode/" in envelope.content
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.SENT
    assert row.body_cleared_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_live_worker_retries_a_refused_mail_with_countdowns_until_it_goes_through(
    school, sink_factory, smtp_settings, settings
):
    settings.OUTBOX_RETRY_DELAYS = (1, 1, 1)
    sink, port = sink_factory(refuse_first=2)
    smtp_settings(port)
    celery_app.conf.task_always_eager = False
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            create_main_account(
                unit=school,
                local_part="admin01",
                profile=Profile(
                    "王小明", "教務處", "教務主任", "049-2910960", "wang@school.edu.tw"
                ),
            )
            deadline = time.monotonic() + 30
            while not sink.messages and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        celery_app.conf.task_always_eager = True
    assert sink.tries == 3
    assert len(sink.messages) == 1
    row = OutboundEmail.objects.get()
    assert row.status == OutboundEmail.Status.SENT
    assert row.attempts == 3


def start_worker_process(name, *, smtp_port, log_dir):
    """A real `celery worker` process on the test database, as deployed (its own session,
    so it can be killed with its children by its id)."""
    database = urlparse(os.environ["DATABASE_URL"])._replace(
        path="/" + connection.settings_dict["NAME"]
    )
    env = {
        **os.environ,
        "DATABASE_URL": database.geturl(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo"]
        + ["--loglevel", "WARNING", "--hostname", f"{name}@%h"]
        + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=Path(django_settings.BASE_DIR),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log = log
    return process


def end_process(process, sig):
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    process.log.close()


def forget_the_killed_workers_task(outbound_email_id) -> int:
    """The killed worker's task waits in Redis for the visibility timeout (an hour) before
    Redis hands it out again; by then its row is long sent and the task does nothing. Drop
    that one message here so no later test's worker meets it, and nothing else: the rest of
    the database's unacknowledged tasks are not this test's."""
    forgotten = 0
    with celery_app.connection_for_write() as broker:
        channel = broker.default_channel
        client = channel.client
        for tag, payload in client.hgetall(channel.unacked_key).items():
            message = json.loads(payload)[0]
            if message["headers"].get("task") != "mail.tasks.send_outbound_email":
                continue
            body = message["body"]
            if message["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            if json.loads(body)[0] == [outbound_email_id]:
                client.hdel(channel.unacked_key, tag)
                client.zrem(channel.unacked_index_key, tag)
                forgotten += 1
    return forgotten


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="DATABASE_URL is not PostgreSQL: worker processes need a database they can share",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_loses_no_mail_and_the_next_sends_it_under_the_same_message_id(
    school, sink_factory, settings, tmp_path
):
    # The relay takes the first message and answers its end of DATA late: the worker is
    # killed while it waits, so whether the mail went out is unknown to the portal.
    sink, port = sink_factory(answer_after=30, answer_late_first=1)
    celery_app.conf.task_always_eager = False
    first = start_worker_process("first", smtp_port=port, log_dir=tmp_path)
    second = account = None
    try:
        account = create_main_account(
            unit=school,
            local_part="admin01",
            profile=Profile("王小明", "教務處", "教務主任", "049-2910960", "wang@school.edu.tw"),
        )
        assert sink.end_of_data.wait(timeout=120), (tmp_path / "first.log").read_text()
        end_process(first, signal.SIGKILL)
        row = OutboundEmail.objects.get()
        assert row.status == OutboundEmail.Status.SENDING

        second = start_worker_process("second", smtp_port=port, log_dir=tmp_path)
        settings.OUTBOX_SENDING_LEASE = 0  # the lease (shortened here) has passed
        sweep_outbox()  # what Celery beat runs every minute
        deadline = time.monotonic() + 120
        while row.status != OutboundEmail.Status.SENT and time.monotonic() < deadline:
            time.sleep(0.2)
            row.refresh_from_db()
    finally:
        celery_app.conf.task_always_eager = True
        end_process(first, signal.SIGKILL)
        if second is not None:
            end_process(second, signal.SIGTERM)
        killed = OutboundEmail.objects.filter(account=account).first() if account else None
        forgotten = forget_the_killed_workers_task(killed.pk) if killed else 0
    assert row.status == OutboundEmail.Status.SENT, (tmp_path / "second.log").read_text()
    assert row.attempts == 2
    assert forgotten == 1  # the killed worker's task, unacknowledged
    # Exactly twice: the relay held the first worker's message (its end of DATA came in
    # before the kill), and the second worker's was answered.
    assert len(sink.messages) == 2
    assert set(sink.message_ids) == {row.message_id}
    assert row.body_cleared_at is not None


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="DATABASE_URL is not PostgreSQL",
)
@pytest.mark.django_db
def test_the_suite_really_runs_on_postgresql():
    assert connection.vendor == "postgresql"


def forget_the_killed_workers_import(import_id) -> int:
    """As forget_the_killed_workers_task, for the killed worker's CSV import task."""
    forgotten = 0
    with celery_app.connection_for_write() as broker:
        channel = broker.default_channel
        client = channel.client
        for tag, payload in client.hgetall(channel.unacked_key).items():
            message = json.loads(payload)[0]
            if message["headers"].get("task") != "schools.tasks.run_account_import":
                continue
            body = message["body"]
            if message["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body)
            if json.loads(body)[0] == [import_id]:
                client.hdel(channel.unacked_key, tag)
                client.zrem(channel.unacked_index_key, tag)
                forgotten += 1
    return forgotten


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.2)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="DATABASE_URL is not PostgreSQL: worker processes need a database they can share",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_loses_nothing_and_the_next_finishes_without_a_row_twice(
    school, sink_factory, settings, tmp_path
):
    """The upload returns at once; a real worker imports, a chunk per commit, and is killed
    (SIGKILL) mid-import; the beat task hands the import to a second worker, which finishes
    the rest. Every row is created exactly once, with its mail."""
    from django.test import Client

    from accounts.models import Account
    from schools.models import AccountImport, ImportedRow
    from schools.services.import_jobs import resume_stalled_imports
    from tests.conftest import GOOD_PASSWORD, make_account, sign_in

    rows = 1000
    make_account(school, "admin01", role=Account.Role.MAIN)
    holder = Client()
    assert sign_in(holder, "010300_admin01", GOOD_PASSWORD).status_code == 302
    lines = ["local_part,full_name,office,title,phone,email,stations"] + [
        f"t{index:04d},教師{index},教務處,教師,049-2910960,t{index:04d}@school.edu.tw,"
        for index in range(rows)
    ]
    content = ("\r\n".join(lines) + "\r\n").encode()
    sink, port = sink_factory()
    celery_app.conf.task_always_eager = False
    first = start_worker_process("first", smtp_port=port, log_dir=tmp_path)
    second = job = None
    try:
        started = time.monotonic()
        response = holder.post(
            "/manage/accounts/import/",
            {"file": SimpleUploadedFile("t.csv", content, content_type="text/csv")},
        )
        assert response.status_code == 302
        job = AccountImport.objects.get()
        assert job.done == 0  # the request stored the rows and returned
        log = tmp_path / "first.log"
        wait_for(
            lambda: AccountImport.objects.get().done >= 300,
            180,
            "the first worker's chunks: " + (log.read_text() if log.exists() else ""),
        )
        end_process(first, signal.SIGKILL)
        job.refresh_from_db()
        assert job.status == "running" and job.done < rows, "killed too late: import finished"
        # Only whole chunks committed, each with its progress: nothing of the killed chunk.
        made = Account.objects.filter(role=Account.Role.SUB).count()
        assert made == job.created_count == job.done
        assert ImportedRow.objects.filter(account_import=job).count() == job.done

        second = start_worker_process("second", smtp_port=port, log_dir=tmp_path)
        settings.ACCOUNT_IMPORT_LEASE_SECONDS = 0  # the lease (shortened here) has passed
        assert resume_stalled_imports() == 1  # what Celery beat runs every minute
        wait_for(
            lambda: AccountImport.objects.get().status == "done",
            600,
            "the second worker: " + (tmp_path / "second.log").read_text(),
        )
        took = time.monotonic() - started
    finally:
        celery_app.conf.task_always_eager = True
        end_process(first, signal.SIGKILL)
        if second is not None:
            end_process(second, signal.SIGTERM)
        celery_app.control.purge()  # the mails the sink has not taken yet
        forgotten = forget_the_killed_workers_import(job.pk) if job else 0
    job.refresh_from_db()
    assert (job.done, job.created_count, job.failed_count) == (rows, rows, 0)
    usernames = list(
        ImportedRow.objects.filter(account_import=job).values_list("username", flat=True)
    )
    assert len(usernames) == len(set(usernames)) == rows
    assert Account.objects.filter(role=Account.Role.SUB).count() == rows
    assert OutboundEmail.objects.filter(kind="account_created").count() == rows
    assert forgotten == 1  # the killed worker's task, unacknowledged
    print(f"{rows} rows imported across a killed worker in {took:.1f} s")

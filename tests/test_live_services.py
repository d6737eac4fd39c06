"""The real stack: PostgreSQL, Redis and a live Celery worker. CI sets DATABASE_URL and
REDIS_URL when those servers answer; without them these tests are skipped, and say so."""

import os
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from accounts.models import OutboundEmail
from accounts.services import Profile, create_main_account
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


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="DATABASE_URL is not PostgreSQL",
)
@pytest.mark.django_db
def test_the_suite_really_runs_on_postgresql():
    assert connection.vendor == "postgresql"

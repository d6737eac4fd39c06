"""The public self-service forms (forgot password, resend verification, account lookup) when
the broker is down or the matching task fails (issue 13, review): a match does no more work
in the request than a miss, neither answers with an error, and what was typed never reaches
the logs. With the broker down the request is kept, encrypted, and the sweep sends the
match's mail later, once."""

import base64
import logging
import os
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import tasks
from accounts.models import PasswordResetCode, PendingPublicRequest, SecurityEvent
from accounts.services import account_lookup, password_reset, verification_resend
from accounts.services.public_request_sweep import PENDING_REQUEST_TRIES, sweep_public_requests
from accounts.services.public_requests import keep_public_request
from mail.models import OutboundEmail
from portal import breaker
from portal.celery import app as celery_app
from tests.conftest import CAPTCHA_OK, free_port, make_account, sign_in
from tests.request_work import query_shape, work_in_request
from tests.test_forgot_password import NEW, STEP_1, STEP_2, code_in, reset, shown_prefix
from tests.test_outbox import RefusingBroker

pytestmark = pytest.mark.django_db

TEACHER = {
    "full_name": "林志明",
    "username": "010300_teacher01",
    "email": "teacher01@school.edu.tw",
}
PENDING = {"full_name": "王小明", "username": "010300_admin01", "email": "wang@school.edu.tw"}
SHARED = "office@school.edu.tw"

# path, what a match types, what a miss types instead
FORMS = {
    "forgot password": ("/password/forgot/", TEACHER, {"email": "someone.else@school.edu.tw"}),
    "resend verification": ("/verify/resend/", PENDING, {"email": "x@school.edu.tw"}),
    "account lookup": (
        "/account/lookup/",
        {"code": "010300", "email": SHARED},
        {"email": "n@x.tw"},
    ),
}


@pytest.fixture
def people(teacher, pending_main, school):
    make_account(school, "lin01", full_name="林志明", email=SHARED)
    mail.outbox.clear()
    OutboundEmail.objects.all().delete()


@pytest.fixture
def broker_down():
    """Point Celery at a port where no broker answers, as when Redis is down."""
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    celery_app.conf.task_always_eager = False
    reset_pools()
    yield
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    reset_pools()


def request_and_commit(path, data) -> tuple[int, list[str]]:
    """The request, then its on-commit hand-off (which runs in the request without
    ATOMIC_REQUESTS): the status and every query of both."""
    work = work_in_request(path, data)
    with CaptureQueriesContext(connection) as queries:
        work.commit()  # raises if the hand-off does
    return work.status, work.queries + [query_shape(q["sql"]) for q in queries.captured_queries]


def kept_payloads() -> list[str]:
    return list(PendingPublicRequest.objects.values_list("payload", flat=True))


def inserts_of_kept_requests(queries: list[str]) -> int:
    return sum(q.startswith('INSERT INTO "accounts_pendingpublicrequest"') for q in queries)


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_with_the_broker_down_a_match_and_a_miss_do_the_same_work_and_each_is_kept_encrypted(
    people, broker_down, caplog, form
):
    path, typed, miss = form
    with caplog.at_level(logging.DEBUG):
        matched = request_and_commit(path, {**typed, **CAPTCHA_OK})
        missed = request_and_commit(path, {**typed, **miss, **CAPTCHA_OK})

    assert matched == missed
    assert matched[0] == 302
    assert inserts_of_kept_requests(matched[1]) == 1
    # Nothing of the match was done in the request: the sweep does it later.
    assert not PasswordResetCode.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert not SecurityEvent.objects.filter(
        kind__in=["password_reset_requested", "verification_resent", "account_lookup"]
    ).exists()
    payloads = kept_payloads()
    assert len(payloads) == 2
    for value in (*typed.values(), *miss.values()):
        assert value not in caplog.text
        for payload in payloads:
            assert value not in payload
            assert value.encode() not in base64.urlsafe_b64decode(payload)


def sweep(django_capture_on_commit_callbacks) -> dict:
    """The broker is back (eager on the embedded default): beat's sweep task runs, and the
    mail it queues is sent after its commit."""
    celery_app.conf.task_always_eager = True
    with django_capture_on_commit_callbacks(execute=True):
        return tasks.sweep_public_requests.apply().get()


def test_after_one_failure_the_next_requests_do_not_try_the_broker(people):
    """A hung Redis costs its whole timeout per try: after one failure the broker's circuit
    is open and the next requests keep their rows without a connection attempt."""
    refusing = RefusingBroker()
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url = f"redis://127.0.0.1:{refusing.port}/0"
    celery_app.conf.task_always_eager = False
    celery_app._pool = celery_app.amqp._producer_pool = None
    try:
        path, data, _ = FORMS["account lookup"]
        assert request_and_commit(path, {**data, **CAPTCHA_OK})[0] == 302
        assert breaker.broker.state == "open"
        tried = refusing.connections
        assert tried >= 1
        for form_path, typed, _miss in FORMS.values():
            assert request_and_commit(form_path, {**typed, **CAPTCHA_OK})[0] == 302
        assert refusing.connections == tried
        assert PendingPublicRequest.objects.count() == 4
    finally:
        refusing.listener.close()
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        celery_app._pool = celery_app.amqp._producer_pool = None


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_once_the_broker_is_back_the_sweep_mails_the_match_and_nothing_for_the_miss(
    people, broker_down, django_capture_on_commit_callbacks, form
):
    path, typed, miss = form
    request_and_commit(path, {**typed, **CAPTCHA_OK})
    request_and_commit(path, {**typed, **miss, **CAPTCHA_OK})
    assert mail.outbox == []

    result = sweep(django_capture_on_commit_callbacks)

    assert result["processed"] == 2
    assert [message.to for message in mail.outbox] == [[typed["email"]]]
    assert not PendingPublicRequest.objects.exists()
    # Processed once: the next sweep finds nothing and mails nothing.
    assert sweep(django_capture_on_commit_callbacks)["processed"] == 0
    assert len(mail.outbox) == 1


def test_a_reset_code_kept_while_the_broker_was_down_works_with_the_session_of_step_one(
    people, teacher, broker_down, django_capture_on_commit_callbacks
):
    client = Client()
    step_one = work_in_request(STEP_1, {**TEACHER, **CAPTCHA_OK}, client=client)
    step_one.commit()
    assert step_one.location == STEP_2
    shown = shown_prefix(client.get(STEP_2))

    sweep(django_capture_on_commit_callbacks)

    prefix, code = code_in(mail.outbox[-1])
    assert prefix == shown
    # Another session cannot use it: it is sent back to step 1.
    assert reset(Client(), code)["Location"] == STEP_1
    response = reset(client, code)
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert sign_in(Client(), TEACHER["username"], NEW).status_code == 302


def test_a_resend_kept_with_its_step_one_gets_the_code_behind_the_new_prefix(
    people, teacher, broker_down, django_capture_on_commit_callbacks
):
    client = Client()
    work_in_request(STEP_1, {**TEACHER, **CAPTCHA_OK}, client=client).commit()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        resend = work_in_request(STEP_2, {"action": "resend"}, client=client)
        resend.commit()
        assert resend.status == 302
        assert PendingPublicRequest.objects.count() == 2
        shown = shown_prefix(client.get(STEP_2))

        sweep(django_capture_on_commit_callbacks)

        assert len(mail.outbox) == 2  # step 1's code, then the resent one
        prefix, code = code_in(mail.outbox[-1])
        assert prefix == shown
        assert reset(client, code).status_code == 302


def test_a_kept_request_older_than_its_code_would_live_is_dropped_unprocessed(
    people, broker_down, django_capture_on_commit_callbacks, caplog
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        request_and_commit(STEP_1, {**TEACHER, **CAPTCHA_OK})
        traveller.shift(timedelta(minutes=61))
        with caplog.at_level(logging.INFO):
            result = sweep(django_capture_on_commit_callbacks)
        assert result["expired"] == 1 and result["processed"] == 0
        assert not PendingPublicRequest.objects.exists()
        assert mail.outbox == []
        assert not PasswordResetCode.objects.exists()
        assert "expired unprocessed" in caplog.text


def test_a_kept_request_younger_than_its_code_would_live_is_still_processed(
    people, broker_down, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        request_and_commit(STEP_1, {**TEACHER, **CAPTCHA_OK})
        traveller.shift(timedelta(minutes=59))
        assert sweep(django_capture_on_commit_callbacks)["processed"] == 1
        assert len(mail.outbox) == 1


@pytest.fixture
def matching_fails(monkeypatch):
    """A bug or a database error in the matching, after the typed values reached the task."""

    def fail(*args, **typed):
        raise RuntimeError(f"no luck with {args} {typed}")

    monkeypatch.setattr(verification_resend, "find_person", fail)
    monkeypatch.setattr(password_reset, "find_person", fail)
    monkeypatch.setattr(password_reset, "_reset_flow_account", fail)
    monkeypatch.setattr(account_lookup.Unit.objects, "annotate", fail)


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_a_failing_task_answers_the_page_as_usual_and_logs_no_typed_value(
    client, people, matching_fails, caplog, form
):
    path, typed, _miss = form
    with caplog.at_level(logging.DEBUG):
        response = client.post(path, {**typed, **CAPTCHA_OK})
    assert response.status_code == 302  # not a 500 that only a match would get
    assert "failed (RuntimeError)" in caplog.text
    for value in typed.values():
        assert value not in caplog.text


def test_a_failing_task_run_by_celery_logs_no_typed_value(people, matching_fails, caplog):
    with caplog.at_level(logging.DEBUG):
        tasks.send_password_reset_code_if_matching.apply(
            kwargs={**TEACHER, "prefix": "AB", "flow_tag": "t", "origin": {}}
        )
    assert "send_password_reset_code_if_matching" in caplog.text
    for value in TEACHER.values():
        assert value not in caplog.text


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_a_kept_request_whose_matching_fails_is_tried_three_times_then_dropped_unlogged(
    people, broker_down, django_capture_on_commit_callbacks, matching_fails, caplog, form
):
    path, typed, _miss = form
    request_and_commit(path, {**typed, **CAPTCHA_OK})
    with caplog.at_level(logging.DEBUG):
        for _ in range(PENDING_REQUEST_TRIES - 1):
            assert sweep(django_capture_on_commit_callbacks)["retried"] == 1
            assert PendingPublicRequest.objects.get().claimed_at is None
        assert sweep(django_capture_on_commit_callbacks)["dropped"] == 1
    assert not PendingPublicRequest.objects.exists()
    assert mail.outbox == []
    assert "dropped after 3 tries (RuntimeError)" in caplog.text
    for value in typed.values():
        assert value not in caplog.text


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="two sweeps at once need PostgreSQL's concurrent transactions (CI sets DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_process_each_kept_request_once(people):
    # Account lookups: a lookup run twice would mail twice (a reset code's step 1 would not).
    kept = 20
    for _ in range(kept):
        keep_public_request(
            kind=PendingPublicRequest.Kind.ACCOUNT_LIST,
            fields={"unit_code": "010300", "email": SHARED, "origin": {}},
            reason="ConnectionError",
        )
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(sweep_public_requests())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result["processed"] for result in results) == kept
    assert len(mail.outbox) == kept
    assert not PendingPublicRequest.objects.exists()

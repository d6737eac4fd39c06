"""The public self-service forms (forgot password, resend verification, account lookup) when
the broker is down or the matching task fails (issue 13, review): a match does no more work
in the request than a miss, neither answers with an error, and what was typed never reaches
the logs."""

import logging

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services, tasks
from accounts.models import OutboundEmail, PasswordResetCode, SecurityEvent
from portal.celery import app as celery_app
from tests.conftest import CAPTCHA_OK, free_port, make_account
from tests.request_work import query_shape, work_in_request

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


@pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))
def test_with_the_broker_down_a_match_and_a_miss_do_the_same_work_and_neither_fails(
    people, broker_down, caplog, form
):
    path, typed, miss = form
    with caplog.at_level(logging.WARNING):
        matched = request_and_commit(path, {**typed, **CAPTCHA_OK})
        missed = request_and_commit(path, {**typed, **miss, **CAPTCHA_OK})

    assert matched == missed
    assert matched[0] == 302
    # Nothing of the match was done: the request is dropped, the person asks again.
    assert not PasswordResetCode.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert not SecurityEvent.objects.filter(
        kind__in=["password_reset_requested", "verification_resent", "account_lookup"]
    ).exists()
    assert "dropped" in caplog.text
    for value in (*typed.values(), *miss.values()):
        assert value not in caplog.text


@pytest.fixture
def matching_fails(monkeypatch):
    """A bug or a database error in the matching, after the typed values reached the task."""

    def fail(*args, **typed):
        raise RuntimeError(f"no luck with {args} {typed}")

    monkeypatch.setattr(services, "find_person", fail)
    monkeypatch.setattr(services, "_reset_flow_account", fail)
    monkeypatch.setattr(services.Unit.objects, "annotate", fail)


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

"""Faults on the real servers (issue 13, section 3): a Redis that hangs (SIGSTOP: it accepts
connections and answers nothing). Each test starts
servers of its own (tests/faults.py); the machine's shared services are never stopped."""

import pytest
from django.conf import settings as settings_module

from accounts.models import Account
from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from mail.models import OutboundEmail
from portal import breaker
from portal.celery import app as celery_app
from schools.models import AccountImport
from schools.services import import_jobs
from tests.conftest import GOOD_PASSWORD, sign_in
from tests.faults import hung_redis, needs_redis_server
from tests.test_csv_import import csv_text, row, upload

__all__ = ["hung_redis"]  # the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    def point_at(proxy):
        settings.CACHES = {
            **settings.CACHES,
            "default": {
                "BACKEND": "portal.cache.PortalRedisCache",
                "LOCATION": proxy.url,
                "OPTIONS": settings_module.CACHE_REDIS_OPTIONS,
            },
        }

    return point_at


@pytest.fixture
def broker_on():
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def point_at(proxy):
        celery_app.conf.broker_url = proxy.url
        celery_app.conf.task_always_eager = False
        reset_pools()

    yield point_at
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    reset_pools()


@needs_redis_server
def test_with_redis_hung_the_guest_home_still_answers_and_the_next_pages_leave_redis_alone(
    client, hung_redis, cache_on
):
    cache_on(hung_redis)
    assert client.get("/").status_code == 200  # drawn with Redis answering
    hung_redis.server.hang()
    assert client.get("/").status_code == 200  # degraded: drawn without the cache
    assert breaker.cache.state == "open"
    touched = hung_redis.touched()
    for _ in range(5):
        assert client.get("/").status_code == 200
    assert hung_redis.touched() == touched  # not one connection, not one byte


@needs_redis_server
def test_with_redis_hung_sign_in_works_and_after_the_open_period_one_trial_closes_the_circuit(
    client, holder, hung_redis, cache_on, settings
):
    cache_on(hung_redis)
    hung_redis.server.hang()
    assert client.get("/").status_code == 200
    touched = hung_redis.touched()
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    assert hung_redis.touched() == touched  # the sign-in's rate limit skipped Redis

    hung_redis.server.resume()
    settings.CIRCUIT_BREAKER_OPEN_SECONDS = 0  # the open period has passed
    assert client.get("/").status_code == 200
    assert hung_redis.touched() > touched  # the trial reached Redis
    assert breaker.cache.state == "closed"


@needs_redis_server
def test_a_csv_import_while_the_broker_hangs_keeps_its_rows_and_hands_off_mail_only_once(
    client, holder, hung_redis, broker_on
):
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    broker_on(hung_redis)
    hung_redis.server.hang()
    response = upload(client, csv_text(imports_header(), *(row(f"teacher0{i}") for i in range(4))))
    # The rows are kept; the import's task waits for the beat task (resume_stalled_imports).
    assert "已處理 0 / 4 列" in response.content.decode()
    job = AccountImport.objects.get()
    assert (job.status, job.total) == ("queued", 4)
    assert breaker.broker.state == "open"
    assert breaker.broker.failures == 1

    touched = hung_redis.touched()
    import_jobs.run_import(job.pk)  # a worker takes it up (the broker still hangs)
    assert Account.objects.filter(unit=holder.unit, role=Account.Role.SUB).count() == 4
    queued = OutboundEmail.objects.filter(status=OutboundEmail.Status.QUEUED)
    assert queued.count() == 4  # all left to the outbox sweep
    assert hung_redis.touched() == touched  # the open circuit: not one more try
    upload(client, csv_text(imports_header(), row("teacher05"), row("teacher06")))
    assert hung_redis.touched() == touched
    assert AccountImport.objects.count() == 2


def imports_header():
    from tests.test_csv_import import ENGLISH

    return ENGLISH


@needs_redis_server
def test_the_sweep_hands_the_waiting_rows_over_once_the_broker_answers_again(
    school, hung_redis, broker_on, django_capture_on_commit_callbacks, settings
):
    broker_on(hung_redis)
    hung_redis.server.hang()
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=school,
            local_part="admin01",
            profile=Profile("王小明", "教務處", "教務主任", "049-2910960", "wang@school.edu.tw"),
        )
    assert breaker.broker.state == "open"
    hung_redis.server.resume()
    settings.CIRCUIT_BREAKER_OPEN_SECONDS = 0
    touched = hung_redis.touched()
    from mail import outbox

    outbox.dispatch(OutboundEmail.objects.get().pk)  # as the sweep does
    assert hung_redis.touched() > touched
    assert breaker.broker.state == "closed"


@needs_redis_server
def test_after_a_redis_restart_the_next_cache_call_succeeds_and_the_circuit_stays_closed(
    hung_redis, cache_on
):
    from django.core.cache import caches

    cache_on(hung_redis)
    cache = caches["default"]
    cache.set("greeting", "hello")  # a connection now waits in the pool
    assert cache.get("greeting") == "hello"
    hung_redis.forget_connections()  # the pooled connection goes stale without knowing it
    hung_redis.server.restart()  # killed, started again on the same port: healthy
    assert cache.get("greeting") is None  # answered (the new server keeps nothing)
    assert breaker.cache.state == "closed"
    assert breaker.cache.failures == 0
    cache.set("greeting", "again")
    assert cache.get("greeting") == "again"


@needs_redis_server
def test_a_hung_redis_is_not_asked_twice_by_one_cache_call(hung_redis, cache_on):
    import redis
    from django.core.cache import caches

    cache_on(hung_redis)
    cache = caches["default"]
    cache.set("greeting", "hello")
    before_connections, before_bytes = hung_redis.touched()
    assert cache.get("greeting") == "hello"
    one_get = hung_redis.touched()[1] - before_bytes
    hung_redis.server.hang()
    with pytest.raises(redis.TimeoutError):
        cache.get("greeting")
    assert hung_redis.touched() == (before_connections, before_bytes + 2 * one_get)


@needs_redis_server
def test_a_trial_call_that_redis_answers_with_an_error_closes_the_circuit(
    hung_redis, cache_on, settings
):
    import redis
    from django.core.cache import caches

    cache_on(hung_redis)
    settings.CIRCUIT_BREAKER_OPEN_SECONDS = 0  # the next call is the trial
    redis.Redis.from_url(hung_redis.server.url).rpush(":1:counter", "not a number")
    breaker.cache.failed(ConnectionError("a failure moments ago"))
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        caches["default"].incr("counter")  # the trial: Redis answers, with an error
    assert breaker.cache.state == "closed"

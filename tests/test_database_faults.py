"""Faults of the database (issue 13, section 3.7): a PostgreSQL that accepts connections and
never answers must cost seconds, and /healthz splits liveness from readiness. The server is
one of the test's own (tests/faults.py); the machine's shared PostgreSQL is never touched."""

import json
import subprocess
import sys

import pytest
from django.conf import settings as settings_module

from tests.faults import BlackHole, ThrowawayPostgres, environment_without_services, needs_initdb

pytestmark = pytest.mark.django_db

ASK_HEALTHZ = """
import json, django
django.setup()
from django.test import Client
for path in ("/healthz/live", "/healthz"):
    response = Client().get(path)
    print(json.dumps([path, response.status_code, response.json()]))
"""


def test_readiness_answers_503_and_liveness_200_when_the_database_accepts_but_never_answers():
    """A black hole on the database's port: the TCP connection opens, the handshake is never
    answered (as with a frozen PostgreSQL). Run in a process of its own, on that database."""
    hole = BlackHole()
    try:
        answered = subprocess.run(
            [sys.executable, "-c", ASK_HEALTHZ],
            env=environment_without_services(
                DJANGO_SETTINGS_MODULE="portal.settings",
                DATABASE_URL=f"postgres://portal@127.0.0.1:{hole.port}/portal",
                ALLOWED_HOSTS="testserver",
            ),
            capture_output=True,
            text=True,
            timeout=100,  # a guard against the old hang, not a measure
            cwd=settings_module.BASE_DIR,
        )
    finally:
        hole.close()
    lines = [json.loads(line) for line in answered.stdout.splitlines()]
    assert len(lines) == 2, answered.stderr[-3000:]
    assert lines[0] == ["/healthz/live", 200, {"status": "ok"}]
    path, status, body = lines[1]
    assert status == 503
    assert body["status"] == "error"
    assert body["database"].startswith("error")
    assert hole.connections  # it did try the database


def test_liveness_touches_neither_the_database_nor_redis(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


# One page in a process of its own on the throwaway cluster: it is drawn with the database
# answering (the connection is kept, CONN_MAX_AGE), then the cluster is frozen and the same
# page is asked for again, and readiness.
ASK_WHILE_FROZEN = """
import json, sys, django
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
print(json.dumps(["/", client.get("/").status_code]), flush=True)
sys.stdin.readline()  # the test freezes the cluster
print(json.dumps(["/", client.get("/").status_code]), flush=True)
print(json.dumps(["/healthz", client.get("/healthz").status_code]), flush=True)
"""


@needs_initdb
def test_with_postgresql_frozen_a_page_on_a_kept_connection_fails_instead_of_hanging():
    cluster = ThrowawayPostgres()
    try:
        env = environment_without_services(
            DJANGO_SETTINGS_MODULE="portal.settings",
            DATABASE_URL=f"{cluster.url}?options=-c%20statement_timeout%3D1s",
            ALLOWED_HOSTS="testserver",
            DATABASE_CLIENT_TIMEOUT="2",
        )
        subprocess.run(  # as compose's one-off migrate: neither timeout
            [sys.executable, "manage.py", "migrate", "-v0"],
            env=env
            | {
                "DATABASE_URL": f"{cluster.url}?options=-c%20statement_timeout%3D0",
                "DATABASE_CLIENT_TIMEOUT": "0",
            },
            check=True,
            cwd=settings_module.BASE_DIR,
        )
        page = subprocess.Popen(
            [sys.executable, "-c", ASK_WHILE_FROZEN],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=settings_module.BASE_DIR,
        )
        assert json.loads(page.stdout.readline()) == ["/", 200]
        cluster.freeze()
        page.stdin.write("go\n")
        page.stdin.flush()
        try:
            answered, _ = page.communicate(timeout=100)  # a guard against the hang
        except subprocess.TimeoutExpired:
            page.kill()
            answered = ""
    finally:
        cluster.stop()
    lines = [json.loads(line) for line in answered.splitlines()]
    assert lines == [["/", 500], ["/healthz", 503]]


# Two queries back to back, as inside a request (BEGIN, SAVEPOINT, INSERT): the second goes
# out in the same kernel tick as the first one's answer, so the TCP state alone cannot tell
# that a query is waiting. The test freezes the cluster while the second one runs.
BACK_TO_BACK = """
import django
django.setup()
from django.db import connection
from portal import db_watchdog
{prelude}
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    try:
        cursor.execute("SELECT pg_sleep(600)")
        print("answered", flush=True)
    except Exception as error:
        print(type(error).__name__, flush=True)
"""

# A bug in one check (anything but the OSError it expects) is logged, and the next runs.
FIRST_CHECK_FAILS = """
real_check_once = db_watchdog.check_once
checks = []

def check_once():
    checks.append(1)
    if len(checks) == 1:
        raise RuntimeError("a bug in the check")
    real_check_once()

db_watchdog.check_once = check_once
"""


def freeze_during_a_query_sent_right_after_an_answer(prelude=""):
    """What the query in the script above ended with, the cluster frozen while it ran."""
    cluster = ThrowawayPostgres()
    try:
        query = subprocess.Popen(
            [sys.executable, "-c", BACK_TO_BACK.format(prelude=prelude)],
            env=environment_without_services(
                DJANGO_SETTINGS_MODULE="portal.settings",
                DEBUG="true",
                DATABASE_URL=f"{cluster.url}?options=-c%20statement_timeout%3D0",
                DATABASE_CLIENT_TIMEOUT="3",
            ),
            stdout=subprocess.PIPE,
            text=True,
            cwd=settings_module.BASE_DIR,
        )
        cluster.wait_for_query("SELECT pg_sleep(600)")
        cluster.freeze()
        try:
            answered, _ = query.communicate(timeout=60)  # a guard against the hang
        except subprocess.TimeoutExpired:
            query.kill()
            answered = "still waiting"
    finally:
        cluster.stop()
    return answered.strip()


@needs_initdb
def test_with_postgresql_frozen_a_query_sent_right_after_an_answer_fails_instead_of_hanging():
    assert freeze_during_a_query_sent_right_after_an_answer() == "OperationalError"


@needs_initdb
def test_a_failed_check_does_not_end_the_database_deadline():
    assert freeze_during_a_query_sent_right_after_an_answer(FIRST_CHECK_FAILS) == "OperationalError"

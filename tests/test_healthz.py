"""/healthz (readiness): JSON with the database and broker status; 503 when the database does
not answer, the broker only reported. /healthz/live (liveness): the process answers."""

import pytest
from django.conf import settings as django_settings
from django.db import connections

pytestmark = pytest.mark.django_db


def test_it_reports_healthy_dependencies(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] == ("ok" if settings.REDIS_URL else "not configured")


def test_readiness_reports_the_broker_down_but_stays_ready_since_sign_in_works_without_it(
    client, settings
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["broker"].startswith("error")
    assert response.json()["database"] == "ok"
    assert response.json()["status"] == "ok"


def test_it_is_never_cached(client):
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="the readiness check's own connect_timeout applies to PostgreSQL only "
    "(set DATABASE_URL=postgres://…)",
)
def test_the_readiness_check_leaves_the_operators_connect_timeout_to_every_other_connection(
    client,
):
    options = connections["default"].settings_dict.setdefault("OPTIONS", {})
    saved = dict(options)
    options["connect_timeout"] = 10
    try:
        assert client.get("/healthz").status_code == 200
        assert connections["default"].settings_dict["OPTIONS"]["connect_timeout"] == 10
        assert connections.settings["default"]["OPTIONS"]["connect_timeout"] == 10
        assert (
            connections.create_connection("default").settings_dict["OPTIONS"]["connect_timeout"]
            == 10
        )
    finally:
        options.clear()
        options.update(saved)


def _connections_opened_by(client, calls):
    from django.db.backends.signals import connection_created

    opened = []

    def count(sender, connection, **kwargs):
        opened.append(connection.alias)

    connection_created.connect(count)
    try:
        for _ in range(calls):
            assert client.get("/healthz").status_code == 200
    finally:
        connection_created.disconnect(count)
    return opened


def test_a_probe_soon_after_another_reuses_its_answer_without_a_database_connection(
    client, settings
):
    settings.HEALTHZ_CACHE_SECONDS = 60
    assert _connections_opened_by(client, 1) == ["healthz"]
    assert _connections_opened_by(client, 3) == []  # answered from the kept result


def test_without_the_kept_answer_every_probe_asks_the_database(client, settings):
    settings.HEALTHZ_CACHE_SECONDS = 0
    assert _connections_opened_by(client, 3) == ["healthz"] * 3


@pytest.mark.skipif(
    "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
    reason="the readiness check's socket watchdog runs on PostgreSQL only "
    "(set DATABASE_URL=postgres://…)",
)
def test_a_probe_leaves_no_socket_of_its_watchdog_open(client, settings):
    import gc
    import threading
    import warnings

    settings.HEALTHZ_CACHE_SECONDS = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
        for thread in threading.enumerate():
            if isinstance(thread, threading.Timer):
                thread.join()
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []

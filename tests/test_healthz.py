"""/healthz (readiness): JSON with the database and broker status; 503 when the database does
not answer, the broker only reported. /healthz/live (liveness): the process answers."""

import pytest

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

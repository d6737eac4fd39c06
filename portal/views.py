import contextlib
import copy
import socket
import threading

import redis
from django.conf import settings
from django.db import connections
from django.db.utils import load_backend
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal import breaker

# Readiness gives the database this long to connect and answer (seconds; PostgreSQL's
# connect_timeout is at least 2).
READINESS_DATABASE_SECONDS = 2


def _database_status() -> str:
    """SELECT 1 on a connection of its own: a database that hangs (frozen, not down) gives
    "error" within seconds instead of hanging the check."""
    # A copy of the settings: connections.create_connection() would share the process's
    # settings dict, and the short connect_timeout below would then hold for every later
    # connection of the process instead of the operator's (DATABASE_URL).
    settings_dict = copy.deepcopy(connections.settings["default"])
    connection = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "healthz")
    if connection.vendor == "postgresql":
        options = connection.settings_dict.setdefault("OPTIONS", {})
        options["connect_timeout"] = READINESS_DATABASE_SECONDS
    watchdog = None
    try:
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            # A server that stopped answering after the handshake: shut the socket down
            # from here when the answer is late, which ends the wait with an error.
            raw_socket = socket.socket(fileno=connection.connection.fileno())
            watchdog = threading.Timer(
                READINESS_DATABASE_SECONDS, _shut_down, args=(raw_socket.dup(),)
            )
            raw_socket.detach()
            watchdog.start()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the reason goes to the operator
        return f"error: {type(error).__name__}"
    finally:
        if watchdog is not None:
            watchdog.cancel()
        connection.close()
    return "ok"


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=0.5, socket_timeout=0.5
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"
    return "ok"


@never_cache
@require_GET
def healthz_live(request):
    """Liveness: the process answers. No database, no Redis: restarting the app would not
    mend them."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def healthz(request):
    """Readiness: 200 when the database answers (within seconds), else 503. The broker's
    state and the circuit breakers' are reported but do not fail readiness: sign-in works
    without Redis, and mail waits in the outbox."""
    database = _database_status()
    ready = database == "ok"
    return JsonResponse(
        {
            "status": "ok" if ready else "error",
            "database": database,
            "broker": _broker_status(),
            "circuits": {"cache": breaker.cache.state, "broker": breaker.broker.state},
        },
        status=200 if ready else 503,
    )


def csrf_failure(request, reason=""):
    from django.shortcuts import render

    return render(request, "403_csrf.html", status=403)

import contextlib
import copy
import socket
import threading
import time

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
    watchdog = watchdog_socket = None
    try:
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            # A server that stopped answering after the handshake: shut the socket down
            # from here when the answer is late, which ends the wait with an error.
            raw_socket = socket.socket(fileno=connection.connection.fileno())
            watchdog_socket = raw_socket.dup()
            raw_socket.detach()
            watchdog = threading.Timer(
                READINESS_DATABASE_SECONDS, _shut_down, args=(watchdog_socket,)
            )
            watchdog.start()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the reason goes to the operator
        return f"error: {type(error).__name__}"
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if watchdog_socket is not None:
            watchdog_socket.close()  # the duplicate of the descriptor, not the connection
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


# The last readiness answer of this process: (monotonic time, database, broker).
_readiness = None
_readiness_lock = threading.Lock()


def _dependency_status() -> tuple[str, str]:
    """The database's and the broker's status, asked again only when the last answer is
    older than HEALTHZ_CACHE_SECONDS: load balancers probe every second or two, each
    probe would otherwise open a PostgreSQL backend (a fork) and a Redis connection."""
    global _readiness
    with _readiness_lock:
        now = time.monotonic()
        if _readiness is not None and now - _readiness[0] < settings.HEALTHZ_CACHE_SECONDS:
            return _readiness[1], _readiness[2]
        database, broker_status = _database_status(), _broker_status()
        _readiness = (time.monotonic(), database, broker_status)
        return database, broker_status


def forget_readiness() -> None:
    """The next /healthz asks the database and the broker again (tests)."""
    global _readiness
    with _readiness_lock:
        _readiness = None


@never_cache
@require_GET
def healthz(request):
    """Readiness: 200 when the database answers (within seconds), else 503. The broker's
    state and the circuit breakers' are reported but do not fail readiness: sign-in works
    without Redis, and mail waits in the outbox. The answer is kept for
    HEALTHZ_CACHE_SECONDS per process."""
    database, broker_status = _dependency_status()
    ready = database == "ok"
    return JsonResponse(
        {
            "status": "ok" if ready else "error",
            "database": database,
            "broker": broker_status,
            "circuits": {"cache": breaker.cache.state, "broker": breaker.broker.state},
        },
        status=200 if ready else 503,
    )


def csrf_failure(request, reason=""):
    from django.shortcuts import render

    return render(request, "403_csrf.html", status=403)

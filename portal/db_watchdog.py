"""A client-side deadline for PostgreSQL that stops answering (frozen, not down).

libpq waits for an answer as long as it takes. Keepalives and tcp_user_timeout do not help
against a server process that is stopped: its host's kernel still acknowledges every
packet. So one thread per process looks at each open connection once a second: whether
libpq has a command in progress, and (Linux TCP_INFO) how long since data was last
received. A connection busy with one command for DATABASE_CLIENT_TIMEOUT seconds that has
received nothing for as long is shut down from here: the waiting query fails with
OperationalError, the request ends with an error page instead of hanging until gunicorn
kills the worker. The default (statement_timeout + 5 s, portal/settings.py) lets the
server's own statement_timeout end a slow query first. Idle connections are never touched.
"""

import contextlib
import logging
import os
import socket
import struct
import threading
import time
import weakref

from django.conf import settings
from psycopg.pq import TransactionStatus

logger = logging.getLogger(__name__)

# struct tcp_info (linux/tcp.h): tcpi_last_data_recv at byte 52, milliseconds ago.
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_LAST_RECEIVED = 52

_lock = threading.Lock()
_watched: set["_Watched"] = set()
_thread_pid = None


def watch(sender, connection, **kwargs) -> None:
    """connection_created receiver: watch a new PostgreSQL connection over TCP."""
    if connection.vendor != "postgresql" or not settings.DATABASE_CLIENT_TIMEOUT or not _TCP_INFO:
        return
    raw = connection.connection
    # A socket object of our own on a duplicate descriptor: shutting it down ends libpq's
    # wait too (same connection); it is closed when libpq's connection is.
    sock = socket.socket(fileno=os.dup(raw.fileno()))
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        sock.close()
        return
    global _thread_pid
    with _lock:
        if _thread_pid != os.getpid():  # first use in this (forked) process
            _watched.clear()
            _thread_pid = os.getpid()
            threading.Thread(target=_run, name="database-deadline", daemon=True).start()
        _watched.add(_Watched(weakref.ref(raw), sock))


class _Watched:
    """One watched connection. Compared by identity: forgetting it can never drop another
    connection's entry (an id() of a closed connection is reused by the next one)."""

    def __init__(self, connection_ref: weakref.ref, sock: socket.socket):
        self.connection_ref = connection_ref
        self.sock = sock
        self.busy_since = None  # time.monotonic() when first seen with a command in progress


def _run() -> None:
    while True:
        time.sleep(min(1.0, settings.DATABASE_CLIENT_TIMEOUT / 2))
        try:
            check_once()
        except Exception:  # a bug here must not end the deadline for the process's life
            logger.exception("the database deadline check failed; it runs again in a second")


def check_once() -> None:
    limit = settings.DATABASE_CLIENT_TIMEOUT
    with _lock:
        entries = list(_watched)
    for entry in entries:
        raw = entry.connection_ref()
        if raw is None or raw.closed:
            _forget(entry)
            continue
        try:
            info = entry.sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
            (last_received,) = struct.unpack_from("I", info, _LAST_RECEIVED)
        except (OSError, struct.error):
            _forget(entry)
            continue
        # A command is in progress (libpq sent it and has not read its whole answer): asked of
        # the connection, not read from the TCP times, which come in kernel ticks (a query
        # sent in the tick its predecessor's answer arrived looks answered). One field of
        # libpq's connection, read by psycopg's binary build under the GIL, which it also
        # holds to close the connection: never a freed one.
        if raw.info.transaction_status != TransactionStatus.ACTIVE:
            entry.busy_since = None
            continue
        now = time.monotonic()
        if entry.busy_since is None:
            entry.busy_since = now
        # Busy that long (as seen from here) and nothing at all received meanwhile: a slow
        # query that streams its rows is left alone.
        if now - entry.busy_since >= limit and last_received >= limit * 1000:
            logger.error(
                "PostgreSQL has not answered for %s s: connection shut down",
                last_received // 1000,
            )
            with contextlib.suppress(OSError):
                entry.sock.shutdown(socket.SHUT_RDWR)
            _forget(entry)


def _forget(entry: _Watched) -> None:
    with _lock:
        _watched.discard(entry)
    entry.sock.close()

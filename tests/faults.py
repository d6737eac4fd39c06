"""Throwaway servers for fault tests: a Redis of the test's own (that it may SIGSTOP, so it
hangs, or kill), a TCP proxy in front of it that counts what reaches the server, and a
"black hole" that accepts connections and never answers (a frozen database's handshake).
The machine's shared PostgreSQL and Redis are never touched."""

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import psycopg
import pytest

from tests.conftest import free_port

REDIS_SERVER = shutil.which("redis-server")


def server_environment() -> dict:
    """The environment for a throwaway server: ours, without libfaketime. CI runs the suite
    once more with the clock a year ahead (faketime); a server is not our code, and Redis
    under a faked clock does not start."""
    return {
        key: value
        for key, value in os.environ.items()
        if key != "LD_PRELOAD" and not key.startswith(("FAKETIME", "DONT_FAKE"))
    }


needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server is not installed: the hung-Redis tests start a Redis of their own "
    "(apt-get install redis-server; .ci/run installs it)",
)


class ThrowawayRedis:
    def __init__(self):
        self.port = free_port()
        self._start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self):
        """Kill the server and start a new one on the same port (every client connection
        of the old one is gone)."""
        self.stop()
        self._start()

    def _start(self):
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=server_environment(),
        )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.process.kill()  # leave no server behind
        self.process.wait()
        raise RuntimeError("the throwaway redis-server did not start")

    def hang(self):
        """SIGSTOP: the kernel still accepts connections, the server answers nothing."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        self.resume()
        self.process.kill()
        self.process.wait()


class CountingProxy:
    """Forwards 127.0.0.1:port to upstream and counts connections and bytes sent to it."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.connections = 0
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = []
        self._forgotten = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def forget_connections(self):
        """The connections open now are reset (RST) when the client next sends on them, as
        after a restart or failover whose goodbye never reached the client (a NAT, a
        moved address): the client's pooled connections look fine until used."""
        with self._lock:
            self._forgotten.update(id(sock) for sock in self._open)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def touched(self):
        with self._lock:
            return self.connections, self.bytes_sent

    def _accept(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), 2)
            except OSError:
                client.close()
                continue
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, target, counted):
        try:
            while data := source.recv(65536):
                if counted and id(source) in self._forgotten:
                    source.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    source.close()  # RST
                    target.close()
                    return
                if counted:
                    with self._lock:
                        self.bytes_sent += len(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                if id(sock) in self._forgotten:
                    continue  # the client hears nothing until it sends
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self):
        self._listener.close()
        for sock in self._open:
            sock.close()


class BlackHole:
    """Accepts TCP connections and never answers (a frozen server's handshake)."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.connections.append(self._listener.accept()[0])
            except OSError:
                return

    def close(self):
        self._listener.close()
        for sock in self.connections:
            sock.close()


@pytest.fixture
def hung_redis():
    """A throwaway Redis behind a counting proxy; the test calls .hang() to freeze it."""
    server = ThrowawayRedis()
    proxy = CountingProxy(server.port)
    proxy.server = server
    yield proxy
    proxy.close()
    server.stop()


def environment_without_services(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(extra)
    return env


PG_BIN = "/usr/lib/postgresql/15/bin"


def _as_postgres(command):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


needs_initdb = pytest.mark.skipif(
    not os.path.exists(f"{PG_BIN}/initdb")
    or (os.geteuid() != 0 and os.environ.get("USER") != "postgres"),
    reason=f"{PG_BIN}/initdb is missing, or we can run it as neither root nor postgres: the "
    "frozen-PostgreSQL test starts a cluster of its own (apt-get install postgresql-15)",
)


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, that the test may
    freeze (SIGSTOP to the postmaster and every backend)."""

    def __init__(self):
        # Not under pytest's tmp_path: user postgres must be able to reach it (/tmp is).
        self.directory = tempfile.mkdtemp(prefix="portal-frozen-pg-")
        self.port = free_port()
        if os.geteuid() == 0:  # the cluster runs as postgres: its directory is theirs alone
            shutil.chown(self.directory, user="postgres", group="postgres")
        data = f"{self.directory}/data"
        subprocess.run(
            _as_postgres([f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]),
            check=True,
            capture_output=True,
            env=server_environment(),
        )
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [
                    f"{PG_BIN}/pg_ctl",
                    "-D",
                    data,
                    "-o",
                    options,
                    "-w",
                    "-l",
                    f"{self.directory}/log",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            env=server_environment(),
        )
        with open(f"{data}/postmaster.pid") as pid_file:
            self.pid = int(pid_file.readline())
        self.data = data
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _processes(self):
        pids = [self.pid]
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as children:
            pids += [int(pid) for pid in children.read().split()]
        return pids

    def wait_for_query(self, query):
        """Until a backend is running this query (asked over a connection of our own)."""
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as connection:
            for _ in range(300):
                if connection.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = %s",
                    [query],
                ).fetchone():
                    return
                time.sleep(0.05)
        raise RuntimeError(f"no backend ran {query!r}")

    def freeze(self):
        self._signal(signal.SIGSTOP)

    def thaw(self):
        self._signal(signal.SIGCONT)

    def _signal(self, number):
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):  # a backend that just ended
                os.kill(pid, number)

    def stop(self):
        self.thaw()
        subprocess.run(
            _as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]),
            capture_output=True,
            env=server_environment(),
        )
        shutil.rmtree(self.directory, ignore_errors=True)

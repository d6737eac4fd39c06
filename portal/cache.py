"""Django's Redis cache, keeping its redis-py client instead of building one per call, and
not calling a Redis that just failed.

django.core.cache.backends.redis makes a new redis.Redis object (and its table of ~170
response callbacks) for every get or set: about 0.15 ms each, two or three times per page.
The client is thread-safe and holds no connection itself (the pool does), so one per
connection pool is kept.

A Redis that hangs costs each call its socket timeout (settings: 0.5 s to connect, 0.5 s to
answer). A connection error is tried once more at once (a pooled connection may be stale
after a restart of Redis); a timeout is not. After a connection error or timeout the cache's
circuit breaker (portal.breaker) opens and every call raises CircuitOpen at once, without
touching Redis, until a trial call 30 s later gets an answer (an error reply such as
WRONGTYPE counts: Redis is there). Callers treat CircuitOpen like the connection error
it stands for: the board and the guest page are drawn (a miss), a write is skipped, a rate
limit decides for itself (accounts/throttles.py, SECURITY.md).
"""

import functools

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from portal import breaker

# What says "Redis did not answer", as opposed to a bad command.
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, OSError)


def _guarded(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        breaker.cache.check()
        try:
            try:
                result = method(self, *args, **kwargs)
            except redis.ConnectionError:
                # A pooled connection that went stale (Redis restarted, the goodbye lost)
                # fails at once: once more, on a new connection, before calling Redis
                # down. Not after a timeout: a Redis that hangs would cost it twice.
                result = method(self, *args, **kwargs)
        except UNAVAILABLE as error:
            breaker.cache.failed(error)
            raise
        except redis.RedisError:
            # Redis answered, with an error (WRONGTYPE, READONLY, ...): it is there. A
            # trial call that ends so closes the circuit instead of leaving it in trial.
            breaker.cache.succeeded()
            raise
        breaker.cache.succeeded()
        return result

    return call


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


for _name in (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(
        ReusedClientRedisCacheClient,
        _name,
        _guarded(getattr(RedisCacheClient, _name)),
    )


class PortalRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

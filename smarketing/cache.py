"""The Redis cache, which falls back to this process' memory while Redis is unreachable.

Pages keep computed figures in the cache and the API counts requests per token in it (DRF's throttle).
Django's RedisCache raises when Redis refuses a connection and waits for its socket timeout when Redis
stalls, so a broker outage would turn every such request into a 500 or a long wait. Here a failed call
pauses Redis for this process for REDIS_PAUSE_SECONDS and the same call is answered from a local
memory cache instead: figures are computed again, and throttling counts per process until Redis is back.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

REDIS_PAUSE_SECONDS = 30.0
# time.monotonic() until which each Redis location is not tried, per process. Module-level, not on the
# backend: Django makes one cache object per thread, and every thread should learn of the outage at once.
_paused_until: dict[str, float] = {}


class RedisCacheWithFallback(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        # LocMemCache instances of the same name share their storage, so every thread sees one fallback.
        self._fallback = LocMemCache(f"redis-fallback:{self._location}", params)

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= _paused_until.get(self._location, 0.0):
            try:
                return getattr(RedisCache, name)(self, *args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError):
                _paused_until[self._location] = time.monotonic() + REDIS_PAUSE_SECONDS
                logger.warning("Redis cache unreachable; using this process' memory for %ss.", REDIS_PAUSE_SECONDS,
                               exc_info=True)
        return getattr(self._fallback, name)(*args, **kwargs)

    # Every operation Django's cache API offers goes through _call.
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", keys, version)

    def clear(self):
        return self._call("clear")

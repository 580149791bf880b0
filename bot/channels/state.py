"""Small expiring key/value state the chat channels keep beside the conversations: WeChat's replay
guard, MsgId dedupe, openid mappings and counters; the web chat's session -> conversation links.

Redis when the gateway has REDIS_URL (every replica sees the same state, and it survives restarts);
an in-process dict with expiry otherwise. Each channel uses its own key prefix.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol

from cachetools import TLRUCache

from bot import redis_connection


class ChannelState(Protocol):
    async def first_seen(self, key: str, ttl_seconds: int) -> bool:
        """True the first time `key` is seen within `ttl_seconds`, False for any repeat."""
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int:
        """Increments a counter; the window (ttl) starts at the first increment."""
    async def decr(self, key: str) -> None:
        """Takes one back from a live counter (never creates one, never moves its window)."""
    async def aclose(self) -> None: ...


class InMemoryChannelState:
    """Each key expires at its own time; beyond `max_items` live keys the least recently used goes first."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, max_items: int = 100_000) -> None:
        # value = (text, expires at); TLRUCache drops expired items as it goes, so memory stays bounded
        self._items: TLRUCache[str, tuple[str, float]] = TLRUCache(
            max_items, ttu=lambda _key, value, _now: value[1], timer=monotonic)
        self._now = monotonic

    def _live(self, key: str) -> str | None:
        item = self._items.get(key)
        return item[0] if item is not None else None

    def _put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._items[key] = (value, self._now() + ttl_seconds)

    def size(self) -> int:
        """Entries held now (not __len__: an empty store must stay truthy for `store or default`)."""
        self._items.expire()
        return len(self._items)

    async def first_seen(self, key: str, ttl_seconds: int) -> bool:
        if self._live(key) is not None:
            return False
        self._put(key, "1", ttl_seconds)
        return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._put(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        current = self._live(key)
        if current is None:
            self._put(key, "1", ttl_seconds)
            return 1
        value = int(current) + 1
        self._items[key] = (str(value), self._items[key][1])
        return value

    async def decr(self, key: str) -> None:
        current = self._live(key)
        if current is not None:
            self._items[key] = (str(int(current) - 1), self._items[key][1])

    async def aclose(self) -> None:
        return None


class RedisChannelState:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis_connection.connect(url)
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    async def first_seen(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._key(key), "1", ex=ttl_seconds, nx=True))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(self._key(key))

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        await self._redis.set(self._key(key), value, ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._key(key))

    async def incr(self, key: str, ttl_seconds: int) -> int:
        full = self._key(key)
        value = int(await self._redis.incr(full))
        if value == 1:  # the first increment opens the window (EXPIRE NX would need Redis 7)
            await self._redis.expire(full, ttl_seconds)
        return value

    async def decr(self, key: str) -> None:
        # Atomic: a counter that expired meanwhile must not come back as -1 without a window.
        await self._redis.eval(
            "if redis.call('exists', KEYS[1]) == 1 then redis.call('decr', KEYS[1]) end", 1, self._key(key))

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_channel_state(redis_url: str | None, prefix: str) -> ChannelState:
    return RedisChannelState(redis_url, prefix) if redis_url else InMemoryChannelState()

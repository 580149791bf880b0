"""Small expiring key/value state the chat channels keep beside the conversations: WeChat's replay
guard, MsgId dedupe, openid mappings and counters; the web chat's session -> conversation links.

Redis when the gateway has REDIS_URL (every replica sees the same state, and it survives restarts);
an in-process dict with expiry otherwise. Each channel uses its own key prefix.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol

import redis.asyncio as redis


class ChannelState(Protocol):
    async def first_seen(self, key: str, ttl_seconds: int) -> bool:
        """True the first time `key` is seen within `ttl_seconds`, False for any repeat."""
    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int:
        """Increments a counter; the window (ttl) starts at the first increment."""
    async def aclose(self) -> None: ...


class InMemoryChannelState:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[str, tuple[str, float]] = {}
        self._now = monotonic
        self._writes = 0

    def _live(self, key: str) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= self._now():
            del self._items[key]
            return None
        return item[0]

    def _put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._items[key] = (value, self._now() + ttl_seconds)
        self._writes += 1
        if self._writes % 1000 == 0:  # drop expired entries now and then so the dict cannot grow forever
            now = self._now()
            for stale in [k for k, (_, expires) in self._items.items() if expires <= now]:
                del self._items[stale]

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

    async def aclose(self) -> None:
        return None


class RedisChannelState:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
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

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_channel_state(redis_url: str | None, prefix: str) -> ChannelState:
    return RedisChannelState(redis_url, prefix) if redis_url else InMemoryChannelState()

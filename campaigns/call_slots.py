"""At most N outbound calls up at once, across every worker and gateway process: one slot per call in Redis.

A slot is taken when a call is placed and given back by the call's final status callback; it also lapses
after `ttl_seconds` (the longest call), so a callback that never arrives cannot keep a slot forever. Slots are
members of one sorted set, scored by when they lapse; taking one is a single Lua script, so two processes
racing for the last slot never both get it. Times are the Redis server's own (TIME), never a worker's clock.
"""
from __future__ import annotations

from typing import Any

SLOTS_KEY = "collections:dialer:call-slots"

# KEYS[1] the slots; ARGV: holder, most slots, lifetime ms. Returns 1 when the holder has a slot.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

# KEYS[1] the slots. Returns how many slots are held and not lapsed.
_HELD = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms, '+inf')
"""


class CallSlots:
    """`redis_client`: a redis.asyncio client (bot.redis_connection.connect)."""

    def __init__(self, redis_client: Any, max_calls: int, ttl_seconds: int, key: str = SLOTS_KEY) -> None:
        self._redis = redis_client
        self._max_calls = max_calls
        self._ttl_ms = ttl_seconds * 1000
        self._key = key
        self._take = redis_client.register_script(_TAKE)
        self._held = redis_client.register_script(_HELD)

    async def acquire(self, holder: str) -> bool:
        """A slot for `holder` (an attempt id); taking it again renews it. False when all are taken."""
        return bool(await self._take(keys=[self._key], args=[holder, self._max_calls, self._ttl_ms]))

    async def release(self, holder: str) -> None:
        await self._redis.zrem(self._key, holder)

    async def held(self) -> int:
        return int(await self._held(keys=[self._key]))

"""How much one client may ask of the gateway: messages and conversation opens per client address and per
conversation (the `limits` library; in Redis when REDIS_URL is set, so every gateway replica counts the
same), and open chat sockets per client address (per gateway process).

A refused message is never dropped silently: the caller turns a `Refusal` into an error the client
sees (429 with Retry-After over REST, an error event on a socket, a fixed reply on WeChat).
"""
from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass

from fastapi import Depends
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from bot import redis_connection
from configuration.settings import GatewaySettings

logger = logging.getLogger("bot.rate_limits")
KEY_PREFIX = "collections:limits"
SLOW_DOWN_TEXT = "您发送得太快了，请稍后再发。"  # the words beside the error code, for people reading it


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # whole seconds until the refused request would be accepted

    def as_json(self) -> dict[str, object]:
        return {"error": "rate_limited", "retry_after": self.retry_after, "detail": SLOW_DOWN_TEXT}


class RateLimited(Exception):
    """Raised by the REST dependencies below; the app answers 429 with Retry-After."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"rate limited for {refusal.retry_after} s")
        self.refusal = refusal


def _storage(redis: Redis | None, redis_url: str | None) -> Storage:
    if redis is None:
        return MemoryStorage()  # expires its own keys: a client gone quiet costs nothing after its window
    return RedisStorage(f"async+{redis_url}", implementation="redispy", connection_pool=redis.connection_pool,
                        key_prefix=KEY_PREFIX, wrap_exceptions=True)


class RateLimits:
    """Moving windows: at most N in any window of the given length, so Retry-After is exact."""

    def __init__(self, settings: GatewaySettings, redis_url: str | None) -> None:
        # The gateway's own Redis connection (reconnects after a Redis restart); the library borrows its pool.
        self._redis = redis_connection.connect(redis_url) if redis_url else None
        self._limiter = MovingWindowRateLimiter(_storage(self._redis, redis_url))
        self._per_client = parse_many(settings.messages_per_client)
        self._per_conversation = parse_many(settings.messages_per_conversation)
        self._opens = parse_many(settings.opens_per_client)

    async def message(self, client: str | None, conversation: str) -> Refusal | None:
        """One borrower message; `client` None where the address is not the borrower's (WeChat's servers)."""
        checks = [(item, "conversation", conversation) for item in self._per_conversation]
        if client is not None:
            checks += [(item, "client", client) for item in self._per_client]
        return await self._hit(checks)

    async def open(self, client: str) -> Refusal | None:
        return await self._hit([(item, "open", client) for item in self._opens])

    async def _hit(self, checks: list[tuple[RateLimitItem, str, str]]) -> Refusal | None:
        try:
            for item, scope, identifier in checks:
                if not await self._limiter.hit(item, scope, identifier):
                    stats = await self._limiter.get_window_stats(item, scope, identifier)
                    return Refusal(max(1, math.ceil(stats.reset_time - time.time())))
        except StorageError as error:
            # Redis down: the turn itself will meet the same outage and answer for it; refusing every
            # borrower here because the counters are unreachable would be worse than not counting.
            logger.error("rate limits not checked: %s", type(error.storage_error).__name__)
        return None

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


class SocketSlots:
    """Open sockets per client address in this process; an address with none open is not kept."""

    def __init__(self, per_client: int) -> None:
        self._per_client = per_client
        self._open: Counter[str] = Counter()

    def acquire(self, client: str) -> bool:
        if self._open[client] >= self._per_client:
            return False
        self._open[client] += 1
        return True

    def release(self, client: str) -> None:
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]

    def size(self) -> int:
        """Entries held now (not __len__: an empty store must stay truthy for `store or default`)."""
        return len(self._open)


def client_address(connection: HTTPConnection) -> str:
    """The peer as uvicorn reports it (behind a trusted proxy, the address it forwarded)."""
    return connection.client.host if connection.client else "unknown"


async def _check_message(connection: HTTPConnection, conversation_id: str) -> None:
    refusal = await connection.app.state.services.limits.message(client_address(connection), conversation_id)
    if refusal is not None:
        raise RateLimited(refusal)


async def _check_open(connection: HTTPConnection) -> None:
    refusal = await connection.app.state.services.limits.open(client_address(connection))
    if refusal is not None:
        raise RateLimited(refusal)


# REST hooks: `dependencies=[MessageAllowed]` on a route with a {conversation_id}; `OpenAllowed` on an open.
MessageAllowed = Depends(_check_message)
OpenAllowed = Depends(_check_open)

"""One publish/subscribe seam for "messages for conversation X": whatever reaches a borrower without
the borrower sending anything (an agent's words, a wait or callback notice) is published here after it
has passed the egress, and every channel subscribes to deliver it on its own wire.

Redis pub/sub when REDIS_URL is set (a message published on one gateway replica reaches the borrower's
socket on another); an in-process fan-out otherwise. Delivery is at-most-once and only to subscribers
present at publish time; the transcript (GET /api/conversations/{id}) has every message regardless.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Protocol


from bot import redis_connection

CHANNEL_PREFIX = "collections:push:"
RESUBSCRIBE_AFTER_SECONDS = 1.0
# Per in-process subscriber: one this far behind (a socket nobody reads) loses the oldest push, never memory
# without bound; the transcript keeps every message.
MAX_PENDING_PUSHES = 100
logger = logging.getLogger("bot.handoff.bus")


def push_message(speaker: str, text: str) -> dict[str, Any]:
    """The payload every subscriber receives; `id` lets a channel deliver each message once across replicas."""
    return {"id": uuid.uuid4().hex, "speaker": speaker, "text": text}


class Subscription(Protocol):
    async def get(self) -> tuple[str, dict[str, Any]]:
        """The next (conversation id, message); waits until one arrives."""
    async def aclose(self) -> None: ...


class PushBus(Protocol):
    async def publish(self, conversation_id: str, message: dict[str, Any]) -> None: ...
    async def subscribe(self, conversation_id: str | None) -> Subscription:
        """Messages for one conversation, or for every conversation when None."""
    async def aclose(self) -> None: ...


class _LocalSubscription:
    def __init__(self, bus: "InProcessPushBus", conversation_id: str | None) -> None:
        self.conversation_id = conversation_id
        self.inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(MAX_PENDING_PUSHES)
        self._bus = bus

    async def get(self) -> tuple[str, dict[str, Any]]:
        return await self.inbox.get()

    async def aclose(self) -> None:
        self._bus.subscribers.discard(self)


class InProcessPushBus:
    def __init__(self) -> None:
        self.subscribers: set[_LocalSubscription] = set()

    async def publish(self, conversation_id: str, message: dict[str, Any]) -> None:
        for subscription in list(self.subscribers):
            if subscription.conversation_id in (None, conversation_id):
                if subscription.inbox.full():
                    subscription.inbox.get_nowait()
                    logger.warning("a push subscriber fell behind: its oldest push was dropped")
                subscription.inbox.put_nowait((conversation_id, message))

    async def subscribe(self, conversation_id: str | None) -> Subscription:
        subscription = _LocalSubscription(self, conversation_id)
        self.subscribers.add(subscription)
        return subscription

    async def aclose(self) -> None:
        self.subscribers.clear()


class _RedisSubscription:
    def __init__(self, pubsub: Any, prefix: str) -> None:
        self._pubsub = pubsub
        self._prefix = prefix

    async def get(self) -> tuple[str, dict[str, Any]]:
        while True:
            item = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            if item is None or item.get("type") not in ("message", "pmessage"):
                continue
            try:
                return item["channel"][len(self._prefix):], json.loads(item["data"])
            except (TypeError, ValueError):
                continue  # not ours: someone else published garbage on the channel

    async def aclose(self) -> None:
        await self._pubsub.aclose()


class RedisPushBus:
    def __init__(self, url: str) -> None:
        self._redis = redis_connection.connect(url)
        # Pub/sub ignores database numbers: the db in the channel name keeps deployments sharing a server apart.
        self._prefix = f"{CHANNEL_PREFIX}{self._redis.connection_pool.connection_kwargs.get('db', 0)}:"

    async def publish(self, conversation_id: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self._prefix + conversation_id, json.dumps(message, ensure_ascii=False))

    async def subscribe(self, conversation_id: str | None) -> Subscription:
        pubsub = self._redis.pubsub()
        if conversation_id is None:
            await pubsub.psubscribe(self._prefix + "*")
        else:
            await pubsub.subscribe(self._prefix + conversation_id)
        return _RedisSubscription(pubsub, self._prefix)

    async def aclose(self) -> None:
        await self._redis.aclose()


async def each_push(bus: PushBus, deliver: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None:
    """Runs until cancelled: `deliver(conversation_id, message)` for every push on any conversation.
    A failed delivery is logged and skipped; a lost Redis connection is re-established."""
    while True:
        try:
            subscription = await bus.subscribe(None)
        except Exception as error:  # noqa: BLE001 - Redis down: try again shortly
            logger.error("push subscription failed: %s", type(error).__name__)
            await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
            continue
        try:
            while True:
                conversation_id, message = await subscription.get()
                try:
                    await deliver(conversation_id, message)
                except Exception as error:  # noqa: BLE001 - one channel hiccup must not stop the relay
                    logger.error("push delivery failed: %s", type(error).__name__)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - connection lost: subscribe again
            logger.error("push subscription lost: %s", type(error).__name__)
            await asyncio.sleep(RESUBSCRIBE_AFTER_SECONDS)
        finally:
            await subscription.aclose()


def make_push_bus(redis_url: str | None) -> PushBus:
    return RedisPushBus(redis_url) if redis_url else InProcessPushBus()

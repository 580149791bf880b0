"""Gateway conversation state: who a conversation is for, whether identity is verified, how many bot
utterances the compliance filter blocked, whether it has ended, and its transcript.

Redis when REDIS_URL is set (a restarted or second gateway replica sees the same state);
an in-process store otherwise.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Protocol

from cachetools import TTLCache

from bot import redis_connection

TRANSCRIPT_TTL_SECONDS = 90 * 24 * 3600


@dataclass
class Conversation:
    conversation_id: str
    borrower_id: str
    channel: str
    timezone: str
    started_at: str
    ended: bool = False
    identity_verified: bool = False  # as Rasa reported after the latest turn
    blocked_bot_utterances: int = 0  # bot words the egress had to replace; the handoff desk counts them
    secret_digest: str = ""  # of the borrower client's credential (bot.conversation_secret); "" for none
    language: str = "zh"  # the reply language: the borrower's record, then as Rasa reported after the latest turn
    # The strategy's script variant of the campaign contact that opened it (a call the lender's dialer placed, a chat
    # opened from a reminder's link): Rasa metadata. "" for a conversation the borrower started.
    call_script: str = ""


class SessionStore(Protocol):
    async def create(self, conversation: Conversation) -> None: ...
    async def get(self, conversation_id: str) -> Conversation | None: ...
    async def mark_ended(self, conversation_id: str) -> None: ...
    async def set_identity_verified(self, conversation_id: str, verified: bool) -> None: ...
    async def set_language(self, conversation_id: str, language: str) -> None: ...
    async def count_blocked_bot_utterance(self, conversation_id: str) -> int:
        """Adds one, atomically across gateway replicas; returns the conversation's count so far."""
        ...
    async def append(self, conversation_id: str, entry: dict[str, Any]) -> None: ...
    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]: ...
    async def aclose(self) -> None: ...


class InMemorySessionStore:
    """Bounded: a conversation is forgotten after the transcripts' TTL or, when `max_conversations` are
    kept, the least recently used goes first (a single process without Redis is a demo, not a record)."""

    def __init__(self, max_conversations: int = 10_000, ttl_seconds: float = TRANSCRIPT_TTL_SECONDS,
                 timer: Callable[[], float] = time.monotonic) -> None:
        # conversation id -> (conversation, transcript): evicted together, never one without the other
        self._items: TTLCache[str, tuple[Conversation, list[dict[str, Any]]]] = TTLCache(
            max_conversations, ttl_seconds, timer)

    async def create(self, conversation: Conversation) -> None:
        self._items[conversation.conversation_id] = (replace(conversation), [])

    async def get(self, conversation_id: str) -> Conversation | None:
        item = self._items.get(conversation_id)
        return replace(item[0]) if item else None  # a copy, as Redis gives: changes go through the store

    async def mark_ended(self, conversation_id: str) -> None:
        self._items[conversation_id][0].ended = True

    async def set_identity_verified(self, conversation_id: str, verified: bool) -> None:
        self._items[conversation_id][0].identity_verified = verified

    async def set_language(self, conversation_id: str, language: str) -> None:
        self._items[conversation_id][0].language = language

    async def count_blocked_bot_utterance(self, conversation_id: str) -> int:
        conversation = self._items[conversation_id][0]
        conversation.blocked_bot_utterances += 1
        return conversation.blocked_bot_utterances

    async def append(self, conversation_id: str, entry: dict[str, Any]) -> None:
        item = self._items.get(conversation_id)
        if item is not None:
            item[1].append(entry)

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        item = self._items.get(conversation_id)
        return list(item[1]) if item else []

    def size(self) -> int:
        """Entries held now (not __len__: an empty store must stay truthy for `store or default`)."""
        return len(self._items)

    async def aclose(self) -> None:
        return None


class RedisSessionStore:
    def __init__(self, url: str, prefix: str = "collections:gateway") -> None:
        self._redis = redis_connection.connect(url)
        self._prefix = prefix

    def _key(self, conversation_id: str, part: str) -> str:
        return f"{self._prefix}:{conversation_id}:{part}"

    async def create(self, conversation: Conversation) -> None:
        key = self._key(conversation.conversation_id, "meta")
        fields = {k: json.dumps(v) for k, v in asdict(conversation).items()}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, TRANSCRIPT_TTL_SECONDS)
            await pipe.execute()

    async def get(self, conversation_id: str) -> Conversation | None:
        fields = await self._redis.hgetall(self._key(conversation_id, "meta"))
        if not fields:
            return None
        return Conversation(**{k: json.loads(v) for k, v in fields.items()})

    async def mark_ended(self, conversation_id: str) -> None:
        await self._update(conversation_id, "hset", "ended", "true")

    async def set_identity_verified(self, conversation_id: str, verified: bool) -> None:
        await self._update(conversation_id, "hset", "identity_verified", json.dumps(verified))

    async def set_language(self, conversation_id: str, language: str) -> None:
        await self._update(conversation_id, "hset", "language", json.dumps(language))

    async def count_blocked_bot_utterance(self, conversation_id: str) -> int:
        return await self._update(conversation_id, "hincrby", "blocked_bot_utterances", 1)

    async def _update(self, conversation_id: str, command: str, field: str, value: Any) -> Any:
        """Changes one field and renews the TTL with it, so no write can leave a key that never expires."""
        key = self._key(conversation_id, "meta")
        async with self._redis.pipeline(transaction=True) as pipe:
            getattr(pipe, command)(key, field, value)
            pipe.expire(key, TRANSCRIPT_TTL_SECONDS)
            result, _ = await pipe.execute()
        return result

    async def append(self, conversation_id: str, entry: dict[str, Any]) -> None:
        key = self._key(conversation_id, "transcript")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, json.dumps(entry, ensure_ascii=False))
            pipe.expire(key, TRANSCRIPT_TTL_SECONDS)
            await pipe.execute()

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        return [json.loads(item) for item in await self._redis.lrange(self._key(conversation_id, "transcript"), 0, -1)]

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_session_store(redis_url: str | None, max_in_memory: int = 10_000) -> SessionStore:
    return RedisSessionStore(redis_url) if redis_url else InMemorySessionStore(max_in_memory)

"""Gateway conversation state: who a conversation is for, whether it has ended, and its transcript.

Redis when REDIS_URL is set (a restarted or second gateway replica sees the same state);
an in-process store otherwise.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import redis.asyncio as redis

TRANSCRIPT_TTL_SECONDS = 90 * 24 * 3600


@dataclass
class Conversation:
    conversation_id: str
    borrower_id: str
    channel: str
    timezone: str
    started_at: str
    ended: bool = False


class SessionStore(Protocol):
    async def create(self, conversation: Conversation) -> None: ...
    async def get(self, conversation_id: str) -> Conversation | None: ...
    async def mark_ended(self, conversation_id: str) -> None: ...
    async def append(self, conversation_id: str, entry: dict[str, Any]) -> None: ...
    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]: ...
    async def aclose(self) -> None: ...


class InMemorySessionStore:
    def __init__(self) -> None:
        self._conversations: dict[str, Conversation] = {}
        self._transcripts: dict[str, list[dict[str, Any]]] = {}

    async def create(self, conversation: Conversation) -> None:
        self._conversations[conversation.conversation_id] = conversation
        self._transcripts.setdefault(conversation.conversation_id, [])

    async def get(self, conversation_id: str) -> Conversation | None:
        return self._conversations.get(conversation_id)

    async def mark_ended(self, conversation_id: str) -> None:
        self._conversations[conversation_id].ended = True

    async def append(self, conversation_id: str, entry: dict[str, Any]) -> None:
        self._transcripts.setdefault(conversation_id, []).append(entry)

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        return list(self._transcripts.get(conversation_id, []))

    async def aclose(self) -> None:
        return None


class RedisSessionStore:
    def __init__(self, url: str, prefix: str = "collections:gateway") -> None:
        self._redis = redis.Redis.from_url(url, decode_responses=True)
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
        await self._redis.hset(self._key(conversation_id, "meta"), "ended", "true")

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


def make_session_store(redis_url: str | None) -> SessionStore:
    return RedisSessionStore(redis_url) if redis_url else InMemorySessionStore()

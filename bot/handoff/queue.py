"""The handoff queue: conversations waiting for a person, most urgent first (lower priority number),
then longest waiting.

Redis (a sorted set scored priority * 1e10 + enqueue time, plus a hash of entries) when REDIS_URL is set,
so every gateway replica sees one queue; an in-process implementation with the same interface otherwise.
Re-queueing a waiting conversation keeps its place in time and only ever raises its priority. An entry stays
in the queue, flagged, once a callback was offered or its phone call was transferred to an agent line: the agent
who takes it reads the transcript so far.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Protocol


from bot import redis_connection

_PRIORITY_WEIGHT = 1e10  # larger than any epoch second this code will see: priority dominates time


@dataclass(frozen=True)
class QueueEntry:
    conversation_id: str
    borrower_id: str | None
    channel: str
    reason: str
    priority: int
    enqueued_at: float  # epoch seconds (wall clock: waiting time is real even when the conversation clock is fixed)
    callback_offered: bool = False
    transferred: bool = False  # a phone call the carrier took to the agent line (bot.channels.call_transfer)

    def score(self) -> float:
        return self.priority * _PRIORITY_WEIGHT + self.enqueued_at


class HandoffQueue(Protocol):
    async def enqueue(self, entry: QueueEntry) -> bool:
        """True when the conversation was added or moved up; False when already waiting at least as urgently."""
    async def remove(self, conversation_id: str) -> QueueEntry | None:
        """Atomically takes the entry out; None when it was not (or no longer) waiting."""
    async def entries(self) -> list[QueueEntry]: ...
    async def position(self, conversation_id: str) -> int | None:
        """1 for the next to be served; None when not waiting."""
    async def mark_callback_offered(self, conversation_id: str) -> bool:
        """True for exactly one caller per waiting conversation (several replicas run the timeout check)."""
    async def mark_transferred(self, conversation_id: str) -> bool:
        """True when the waiting conversation was not flagged transferred before."""
    async def aclose(self) -> None: ...


def _merge(previous: QueueEntry | None, entry: QueueEntry) -> QueueEntry | None:
    if previous is None:
        return entry
    if previous.priority <= entry.priority:
        return None
    return replace(entry, enqueued_at=previous.enqueued_at, callback_offered=previous.callback_offered,
                   transferred=previous.transferred)


class InMemoryHandoffQueue:
    def __init__(self) -> None:
        self._entries: dict[str, QueueEntry] = {}

    async def enqueue(self, entry: QueueEntry) -> bool:
        merged = _merge(self._entries.get(entry.conversation_id), entry)
        if merged is None:
            return False
        self._entries[entry.conversation_id] = merged
        return True

    async def remove(self, conversation_id: str) -> QueueEntry | None:
        return self._entries.pop(conversation_id, None)

    async def entries(self) -> list[QueueEntry]:
        return sorted(self._entries.values(), key=lambda entry: (entry.score(), entry.conversation_id))

    async def position(self, conversation_id: str) -> int | None:
        ordered = [entry.conversation_id for entry in await self.entries()]
        return ordered.index(conversation_id) + 1 if conversation_id in ordered else None

    async def mark_callback_offered(self, conversation_id: str) -> bool:
        return self._mark(conversation_id, "callback_offered")

    async def mark_transferred(self, conversation_id: str) -> bool:
        return self._mark(conversation_id, "transferred")

    def _mark(self, conversation_id: str, flag: str) -> bool:
        entry = self._entries.get(conversation_id)
        if entry is None or getattr(entry, flag):
            return False
        self._entries[conversation_id] = replace(entry, **{flag: True})
        return True

    async def aclose(self) -> None:
        return None


# KEYS: zset, hash. ARGV: conversation id, entry JSON. The merge rule of _merge, atomically.
_ENQUEUE = """
local entry = cjson.decode(ARGV[2])
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local previous = cjson.decode(old)
  if previous.priority <= entry.priority then return 0 end
  entry.enqueued_at = previous.enqueued_at
  entry.callback_offered = previous.callback_offered
  entry.transferred = previous.transferred
end
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(entry))
redis.call('ZADD', KEYS[1], entry.priority * 1e10 + entry.enqueued_at, ARGV[1])
return 1
"""
_REMOVE = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return false end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return old
"""
# ARGV: conversation id, the flag to set (callback_offered, transferred): 1 only for the one caller that set it.
_MARK = """
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return 0 end
local entry = cjson.decode(old)
if entry[ARGV[2]] then return 0 end
entry[ARGV[2]] = true
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(entry))
return 1
"""


def _decode(raw: str) -> QueueEntry:
    data = json.loads(raw)
    return QueueEntry(
        conversation_id=data["conversation_id"], borrower_id=data.get("borrower_id") or None,
        channel=data["channel"], reason=data["reason"], priority=int(data["priority"]),
        enqueued_at=float(data["enqueued_at"]), callback_offered=bool(data.get("callback_offered")),
        transferred=bool(data.get("transferred")),
    )


class RedisHandoffQueue:
    def __init__(self, url: str, prefix: str = "collections:handoff") -> None:
        self._redis = redis_connection.connect(url)
        self._keys = [f"{prefix}:queue", f"{prefix}:entries"]
        self._enqueue = self._redis.register_script(_ENQUEUE)
        self._remove = self._redis.register_script(_REMOVE)
        self._mark = self._redis.register_script(_MARK)

    async def enqueue(self, entry: QueueEntry) -> bool:
        return bool(await self._enqueue(keys=self._keys, args=[entry.conversation_id, json.dumps(asdict(entry))]))

    async def remove(self, conversation_id: str) -> QueueEntry | None:
        raw = await self._remove(keys=self._keys, args=[conversation_id])
        return _decode(raw) if raw else None

    async def entries(self) -> list[QueueEntry]:
        ordered = await self._redis.zrange(self._keys[0], 0, -1)
        if not ordered:
            return []
        raws = await self._redis.hmget(self._keys[1], ordered)
        return [_decode(raw) for raw in raws if raw]

    async def position(self, conversation_id: str) -> int | None:
        rank = await self._redis.zrank(self._keys[0], conversation_id)
        return None if rank is None else rank + 1

    async def mark_callback_offered(self, conversation_id: str) -> bool:
        return bool(await self._mark(keys=self._keys, args=[conversation_id, "callback_offered"]))

    async def mark_transferred(self, conversation_id: str) -> bool:
        return bool(await self._mark(keys=self._keys, args=[conversation_id, "transferred"]))

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_handoff_queue(redis_url: str | None) -> HandoffQueue:
    return RedisHandoffQueue(redis_url) if redis_url else InMemoryHandoffQueue()

"""Which agent holds which conversation. Taking is atomic (HSETNX in Redis; a dict check on the one event
loop in-process): of any number of agents taking the same conversation at once, exactly one wins."""
from __future__ import annotations

from typing import Protocol


from bot import redis_connection


class Assignments(Protocol):
    async def take(self, conversation_id: str, agent: str) -> bool: ...
    async def holder(self, conversation_id: str) -> str | None: ...
    async def release(self, conversation_id: str, agent: str | None = None) -> bool:
        """Frees the conversation if `agent` holds it (any holder when agent is None)."""
    async def held(self) -> dict[str, str]:
        """conversation id -> agent name, for every held conversation."""
    async def aclose(self) -> None: ...


class InMemoryAssignments:
    def __init__(self) -> None:
        self._holders: dict[str, str] = {}

    async def take(self, conversation_id: str, agent: str) -> bool:
        if conversation_id in self._holders:
            return False
        self._holders[conversation_id] = agent
        return True

    async def holder(self, conversation_id: str) -> str | None:
        return self._holders.get(conversation_id)

    async def release(self, conversation_id: str, agent: str | None = None) -> bool:
        if conversation_id not in self._holders or agent not in (None, self._holders[conversation_id]):
            return False
        del self._holders[conversation_id]
        return True

    async def held(self) -> dict[str, str]:
        return dict(self._holders)

    async def aclose(self) -> None:
        return None


# Compare-and-delete: an agent can only release what it holds, even racing a supervisor's release.
_RELEASE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or (ARGV[2] ~= '' and current ~= ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""


class RedisAssignments:
    def __init__(self, url: str, key: str = "collections:handoff:holders") -> None:
        self._redis = redis_connection.connect(url)
        self._key = key
        self._release = self._redis.register_script(_RELEASE)

    async def take(self, conversation_id: str, agent: str) -> bool:
        return bool(await self._redis.hsetnx(self._key, conversation_id, agent))

    async def holder(self, conversation_id: str) -> str | None:
        return await self._redis.hget(self._key, conversation_id)

    async def release(self, conversation_id: str, agent: str | None = None) -> bool:
        return bool(await self._release(keys=[self._key], args=[conversation_id, agent or ""]))

    async def held(self) -> dict[str, str]:
        return await self._redis.hgetall(self._key)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_assignments(redis_url: str | None) -> Assignments:
    return RedisAssignments(redis_url) if redis_url else InMemoryAssignments()

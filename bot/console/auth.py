"""Console sessions: a random token (cookie `console_session`, or `Authorization: Bearer`) mapped to the
agent's name in the channel state store (Redis when configured, so every replica knows the session);
failed sign-ins counted per account name, locking it for a while after too many."""
from __future__ import annotations

import asyncio
import secrets

from fastapi import HTTPException, Request

from bot.channels.state import ChannelState
from bot.console.agents import Agent, AgentDirectory

COOKIE = "console_session"


class ConsoleSessions:
    def __init__(
        self, state: ChannelState, agents: AgentDirectory, ttl_seconds: int,
        failures: ChannelState, max_failures: int, failure_window_seconds: int,
    ) -> None:
        self._state = state
        self._agents = agents
        self.ttl_seconds = ttl_seconds
        self._failures = failures
        self._max_failures = max_failures
        self._failure_window = failure_window_seconds

    async def locked_out(self, name: str) -> bool:
        return int(await self._failures.get(name) or 0) >= self._max_failures

    async def record_failure(self, name: str) -> None:
        await self._failures.incr(name, self._failure_window)

    async def open(self, agent: Agent) -> str:
        token = secrets.token_urlsafe(32)
        await self._state.set(token, agent.name, self.ttl_seconds)
        return token

    async def close(self, token: str) -> None:
        await self._state.delete(token)

    async def agent_for(self, token: str | None) -> Agent | None:
        if not token or len(token) > 128:
            return None
        name = await self._state.get(token)
        # Re-read the account: a deactivated agent or a changed role takes effect at once.
        return await asyncio.to_thread(self._agents.get, name) if name else None


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


async def current_agent(request: Request) -> Agent:
    """FastAPI dependency: the signed-in agent, or 401."""
    sessions: ConsoleSessions = request.app.state.console_sessions
    agent = await sessions.agent_for(request_token(request))
    if agent is None:
        raise HTTPException(status_code=401, detail="not_signed_in")
    return agent


async def current_supervisor(request: Request) -> Agent:
    agent = await current_agent(request)
    if not agent.is_supervisor:
        raise HTTPException(status_code=403, detail="supervisor_only")
    return agent

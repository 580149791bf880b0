"""Console sessions: a random token (cookie `console_session`, or `Authorization: Bearer`) mapped to the
agent's name in the channel state store (Redis when configured, so every replica knows the session).

Sign-in throttling is by client address, never by account name alone: a name locked for everyone
would let anyone lock a real agent out from anywhere. So failures are counted per address and name
(the agent's own typos lock that name from that address only; a success clears the count) and per
address across all names (one address spraying names or queueing hashes is stopped; a success is not
a failure, so an office behind one address is not locked by its agents signing in). What is left,
guessing one name from very many addresses, costs an argon2 hash per guess on a small pool of its own.
An attempt counts as failed until its password is checked, so concurrent guesses cannot all slip under
the limit.

Password hashes are checked on that bounded pool (`hash_pool`), never the default executor the
borrowers' turns use: a flood of sign-ins queues behind a few argon2 threads and nothing else waits.
"""
from __future__ import annotations

import asyncio
import secrets
from concurrent.futures import Executor

from fastapi import HTTPException, Request

from bot.channels.state import ChannelState
from bot.console.agents import Agent, AgentDirectory

COOKIE = "console_session"


class SignInThrottled(Exception):
    pass


class ConsoleSessions:
    def __init__(
        self, state: ChannelState, agents: AgentDirectory, ttl_seconds: int, failures: ChannelState,
        max_failures_per_name: int, max_failures_per_address: int, window_seconds: int, hash_pool: Executor,
    ) -> None:
        self._state = state
        self._agents = agents
        self.ttl_seconds = ttl_seconds
        self._failures = failures
        self._max_per_name = max_failures_per_name
        self._max_per_address = max_failures_per_address
        self._window = window_seconds
        self._hash_pool = hash_pool

    async def sign_in(self, name: str, password: str, address: str) -> Agent | None:
        """The agent when the password is right, None when not; SignInThrottled when this address has
        failed with this name, or with any names, too often in the window."""
        name_key, address_key = f"name:{address}:{name}", f"address:{address}"
        failures_of_name = await self._failures.incr(name_key, self._window)
        failures_from_address = await self._failures.incr(address_key, self._window)
        if failures_of_name > self._max_per_name or failures_from_address > self._max_per_address:
            raise SignInThrottled()
        agent = await asyncio.get_running_loop().run_in_executor(
            self._hash_pool, self._agents.authenticate, name, password)
        if agent is not None:
            await self._failures.delete(name_key)
            await self._failures.decr(address_key)
        return agent

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


async def signed_in(request: Request) -> Agent:
    """FastAPI dependency: whoever is signed in, any role, or 401."""
    sessions: ConsoleSessions = request.app.state.services.console_sessions
    agent = await sessions.agent_for(request_token(request))
    if agent is None:
        raise HTTPException(status_code=401, detail="not_signed_in")
    return agent


async def current_agent(request: Request) -> Agent:
    """FastAPI dependency: the signed-in agent or supervisor (who handle conversations), 401 or 403."""
    agent = await signed_in(request)
    if not agent.takes_conversations:
        raise HTTPException(status_code=403, detail="reviewers_do_not_handle_conversations")
    return agent


async def current_reviewer(request: Request) -> Agent:
    """FastAPI dependency: a reviewer or a supervisor (quality review), 401 or 403."""
    agent = await signed_in(request)
    if not agent.may_review:
        raise HTTPException(status_code=403, detail="reviewers_only")
    return agent


async def current_supervisor(request: Request) -> Agent:
    agent = await current_agent(request)
    if not agent.is_supervisor:
        raise HTTPException(status_code=403, detail="supervisor_only")
    return agent

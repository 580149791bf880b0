"""Builds the handoff and console services for the gateway's lifespan (Redis-backed when REDIS_URL is
set, in-process otherwise) and runs the callback-offer loop while the gateway is up."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from actions.ledger.repository import Ledger
from bot.channels.state import ChannelState, make_channel_state
from bot.console.agents import AgentDirectory
from bot.console.auth import ConsoleSessions
from bot.conversations import ConversationService
from bot.handoff.assignments import make_assignments
from bot.handoff.bus import PushBus, make_push_bus
from bot.handoff.callbacks import CallbackOffers
from bot.handoff.desk import HandoffDesk
from bot.handoff.policy import load_handoff_policy
from bot.handoff.queue import make_handoff_queue
from bot.rasa_client import RasaClient
from bot.settings import GatewaySettings


@dataclass
class HandoffRuntime:
    desk: HandoffDesk
    bus: PushBus
    console_sessions: ConsoleSessions
    console_agents: AgentDirectory

    def attach(
        self, app: FastAPI, conversations: ConversationService, rasa: RasaClient, ledger: Ledger,
        config: GatewaySettings, clock: Callable[[], datetime],
    ) -> asyncio.Task[None]:
        """Publishes what the console routes and channels need on app.state; starts the callback loop."""
        app.state.handoff = self.desk
        app.state.push_bus = self.bus
        app.state.console_sessions = self.console_sessions
        app.state.console_agents = self.console_agents
        app.state.console_cookie_secure = config.console_cookie_secure
        app.state.max_message_chars = config.max_message_chars
        app.state.rasa = rasa
        app.state.ledger = ledger
        app.state.clock = clock
        offers = CallbackOffers(self.desk.queue, conversations, ledger, config.handoff_wait_timeout_seconds, clock)
        return asyncio.create_task(offers.run(config.handoff_check_interval_seconds))


@asynccontextmanager
async def handoff_runtime(
    config: GatewaySettings, ledger: Ledger, session_factory: sessionmaker[Session],
) -> AsyncIterator[HandoffRuntime]:
    policy = load_handoff_policy(config.handoff_policy_file)  # a bad file stops the start, naming the key
    queue = make_handoff_queue(config.redis_url)
    assignments = make_assignments(config.redis_url)
    bus = make_push_bus(config.redis_url)
    seen: ChannelState = make_channel_state(config.redis_url, "collections:handoff:trigger")
    console_state = make_channel_state(config.redis_url, "collections:console:session")
    failed_sign_ins = make_channel_state(config.redis_url, "collections:console:failed")
    agents = AgentDirectory(session_factory)
    runtime = HandoffRuntime(
        HandoffDesk(queue, assignments, ledger, policy, seen), bus,
        ConsoleSessions(console_state, agents, config.console_session_ttl_seconds, failed_sign_ins,
                        config.console_max_failed_sign_ins, config.console_failed_sign_in_window_seconds),
        agents,
    )
    try:
        yield runtime
    finally:
        for closable in (queue, assignments, bus, seen, console_state, failed_sign_ins):
            await closable.aclose()

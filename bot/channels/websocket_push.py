"""Pushed messages on the /ws/chat WebSocket: while a borrower's socket is open, whatever the gateway
publishes for the conversation (an agent's words, a wait or callback notice — all already through the
egress) is sent as {"type": "push", "speaker": "agent" | "bot", "text"}, between or during turns."""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from fastapi import WebSocket

from bot.handoff.bus import PushBus


@contextlib.asynccontextmanager
async def relay_pushes(websocket: WebSocket, bus: PushBus, conversation_id: str) -> AsyncIterator[None]:
    subscription = await bus.subscribe(conversation_id)

    async def relay() -> None:
        while True:
            _, message = await subscription.get()
            await websocket.send_json({"type": "push", "speaker": message.get("speaker", "bot"), "text": message.get("text", "")})

    task = asyncio.create_task(relay())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await subscription.aclose()

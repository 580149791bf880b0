"""The gateway's ASGI entry: the FastAPI app (REST, /ws/chat) with the rasa-webchat Socket.IO channel
mounted at /socket.io/.

    uvicorn --factory bot.asgi:create_asgi_app

socketio.ASGIApp hands /socket.io/ to the Socket.IO server and everything else, including the ASGI
lifespan, to the FastAPI app unchanged, so its lifespan still builds app.state.conversations.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, AsyncIterator, Callable

import socketio
from fastapi import FastAPI

from bot.app import create_app
from bot.channels.socketio_webchat import SOCKETIO_PATH, WebchatChannel, make_session_state
from bot.settings import GatewaySettings, settings as load_settings


def wrap_fastapi(
    fastapi_app: FastAPI, redis_url: str | None = None, cors_allowed_origins: str | list[str] | None = None,
    **server_options: Any,
) -> tuple[socketio.ASGIApp, WebchatChannel]:
    """Mounts the webchat channel in front of an already built FastAPI app (tests pass their own).

    server_options go to socketio.AsyncServer (e.g. ping_interval)."""
    channel = WebchatChannel(
        lambda: fastapi_app.state.conversations, cors_allowed_origins=cors_allowed_origins, **server_options,
    )
    inner_lifespan = fastapi_app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        channel.sessions = make_session_state(redis_url)
        try:
            async with inner_lifespan(app) as state:
                # Pushed messages (agents, handoff notices) when the app has the handoff services.
                bus = getattr(fastapi_app.state, "push_bus", None)
                relay = asyncio.create_task(channel.relay_pushes(bus)) if bus is not None else None
                yield state
                if relay is not None:
                    relay.cancel()
        finally:
            await channel.aclose()

    fastapi_app.router.lifespan_context = lifespan
    return socketio.ASGIApp(channel.sio, other_asgi_app=fastapi_app, socketio_path=SOCKETIO_PATH), channel


def create_asgi_app(
    config: GatewaySettings | None = None, clock: Callable[[], datetime] | None = None,
) -> socketio.ASGIApp:
    config = config or load_settings()
    # Same-origin only unless the settings carry an allow-list (a `webchat_cors_origins` field, if added).
    cors = getattr(config, "webchat_cors_origins", None)
    asgi_app, _ = wrap_fastapi(create_app(config, clock), config.redis_url, cors)
    return asgi_app

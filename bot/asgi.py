"""The gateway's ASGI entry: the FastAPI app (REST, /ws/chat, console, voice, WeChat) with the
rasa-webchat Socket.IO channel mounted at /socket.io/.

    uvicorn --factory bot.asgi:create_asgi_app

socketio.ASGIApp hands /socket.io/ to the Socket.IO server and everything else, including the ASGI
lifespan, to the FastAPI app, whose single lifespan builds the services and relays pushes to the widget.
"""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, AsyncIterator, Callable

import socketio
from fastapi import FastAPI

from bot import log_masking
from bot.app import create_app
from bot.channels.socketio_webchat import SOCKETIO_PATH, WebchatChannel, make_session_state
from bot.channels.webchat_origins import widget_origin_policy
from bot.links import load_link_key
from configuration.settings import Settings


def wrap_fastapi(
    fastapi_app: FastAPI, session_key: bytes, redis_url: str | None = None,
    cors_allowed_origins: str | list[str] | None = None, **server_options: Any,
) -> tuple[socketio.ASGIApp, WebchatChannel]:
    """Mounts the webchat channel in front of a stand-in FastAPI app that sets app.state.services
    (conversations, links, limits, sockets) itself (tests); server_options go to socketio.AsyncServer."""
    channel = WebchatChannel(
        lambda: fastapi_app.state.services.conversations, lambda: fastapi_app.state.services, session_key,
        sessions=make_session_state(redis_url), cors_allowed_origins=cors_allowed_origins, **server_options,
    )
    inner_lifespan = fastapi_app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        try:
            async with inner_lifespan(app) as state:
                yield state
        finally:
            await channel.aclose()

    fastapi_app.router.lifespan_context = lifespan
    return socketio.ASGIApp(channel.sio, other_asgi_app=fastapi_app, socketio_path=SOCKETIO_PATH), channel


def create_asgi_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> socketio.ASGIApp:
    settings = settings or Settings()
    log_masking.install()  # before the first request line is logged
    channel = WebchatChannel(
        lambda: app.state.services.conversations, lambda: app.state.services,
        load_link_key(settings.gateway), sessions=make_session_state(settings.redis_url),
        cors_allowed_origins=widget_origin_policy(settings.gateway.webchat_cors_origins),
        max_http_buffer_size=settings.gateway.ws_max_message_bytes,  # larger Engine.IO packets are refused
    )

    async def relay_widget_pushes(bus) -> None:
        try:
            await channel.relay_pushes(bus)
        finally:
            await asyncio.shield(channel.aclose())

    app = create_app(settings, clock, push_relays=[relay_widget_pushes])
    return socketio.ASGIApp(channel.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH)

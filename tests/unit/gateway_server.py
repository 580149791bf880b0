"""The gateway as it starts (bot.asgi, every service built by bot.services), served by uvicorn on a free port in
the calling test's event loop, with an HTTP client pointed at it: for tests that go over real HTTP."""
from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import uvicorn

from bot.asgi import create_asgi_app
from configuration.settings import Settings


@asynccontextmanager
async def gateway_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_asgi_app(settings), log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            assert not serving.done(), "the gateway did not start"
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=60) as http:
            yield http
    finally:
        server.should_exit = True
        await serving
        listener.close()

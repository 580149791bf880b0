"""The voice transport's connection over a real uvicorn WebSocket: once the carrier has ended the stream, sending to
it and closing it are no-ops, not errors (a call whose carrier hung up while the bot was speaking is over, not
failed, and must not log a traceback or count a call failure)."""
from __future__ import annotations

import asyncio
import socket

import pytest
import uvicorn
import websockets
from fastapi import FastAPI, WebSocket

from bot.channels.voice import StarletteConnection


@pytest.mark.asyncio
async def test_sending_to_and_closing_a_stream_the_peer_ended_raise_nothing():
    peer_gone, done = asyncio.Event(), asyncio.Event()
    outcome: dict[str, object] = {}
    app = FastAPI()

    @app.websocket("/stream")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        connection = StarletteConnection(websocket)
        outcome["first"] = await connection.receive()
        await peer_gone.wait()
        try:
            for _ in range(50):  # the first sends may still reach the socket's buffer; later ones find it closed
                await connection.send('{"event": "media"}')
            await connection.close(1000, "call_over")
            outcome["after_close"] = await connection.receive()
        except Exception as error:  # noqa: BLE001 — the assertion below names it
            outcome["error"] = error
        finally:
            done.set()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with websockets.connect(f"ws://127.0.0.1:{listener.getsockname()[1]}/stream") as client:
            await client.send('{"event": "stop"}')
            await asyncio.sleep(0)  # the message is on the wire before the abrupt end
            client.transport.abort()  # the carrier's TCP connection drops without a closing handshake
        await asyncio.sleep(0.2)
        peer_gone.set()
        await asyncio.wait_for(done.wait(), 30)
    finally:
        server.should_exit = True
        await serving
        listener.close()
    assert outcome["first"] == '{"event": "stop"}'
    assert "error" not in outcome, repr(outcome.get("error"))
    assert outcome["after_close"] is None

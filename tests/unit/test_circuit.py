"""The circuit breaker around Rasa, with a real HTTP client against a port where nothing listens and a
small real server that answers: after N failures turns fail at once; after the cool-down one turn probes,
and a success closes the circuit again."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.circuit import Circuit, CircuitOpen
from bot.rasa_client import RasaClient, RasaTurnFailed, RasaUnavailable
from tests.stack import _free_port

pytestmark = pytest.mark.asyncio


class TinyRasa:
    """Answers the gateway channel's webhook on a real socket, like Rasa would (one JSON body)."""

    def __init__(self, body: dict) -> None:
        self.body = body
        self.requests = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        self.requests += 1
        payload = json.dumps(self.body).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        await writer.drain()
        writer.close()


async def test_failures_open_the_circuit_which_then_fails_fast_and_a_probe_closes_it():
    port = _free_port()
    client = RasaClient([f"http://127.0.0.1:{port}"], "token", 5, Circuit("rasa", threshold=2, cooldown_seconds=0.5))
    try:
        for _ in range(2):
            with pytest.raises(RasaUnavailable, match="ConnectError"):
                await client.send("c1", "hi", {})
        assert client.circuit.state()["state"] == "opened"
        with pytest.raises(RasaUnavailable, match="circuit rasa is open"):
            await client.send("c1", "hi", {})

        rasa = TinyRasa({"messages": [{"text": "您好"}], "identity_verified": False})
        server = await asyncio.start_server(rasa.serve, "127.0.0.1", port)
        async with server:
            with pytest.raises(RasaUnavailable, match="open"):
                await client.send("c1", "hi", {})  # Rasa is back, but the cool-down has not passed
            assert rasa.requests == 0
            await asyncio.sleep(0.6)
            turn = await client.send("c1", "hi", {})  # the probe
            assert turn.messages == [{"text": "您好"}] and rasa.requests == 1
            assert client.circuit.state()["state"] == "closed"
    finally:
        await client.aclose()


async def test_a_turn_with_a_failed_action_counts_as_a_failure_and_keeps_what_was_said():
    port = _free_port()
    rasa = TinyRasa({"messages": [{"text": "好的"}], "failed": True})
    server = await asyncio.start_server(rasa.serve, "127.0.0.1", port)
    client = RasaClient([f"http://127.0.0.1:{port}"], "token", 5, Circuit("rasa", threshold=1, cooldown_seconds=30))
    try:
        async with server:
            with pytest.raises(RasaTurnFailed) as failed:
                await client.send("c1", "hi", {})
            assert failed.value.turn.messages == [{"text": "好的"}]
            started = time.monotonic()
            with pytest.raises(RasaUnavailable, match="open"):
                await client.send("c1", "hi", {})
            assert time.monotonic() - started < 0.1 and rasa.requests == 1
    finally:
        await client.aclose()


async def test_a_cancelled_call_is_not_a_failure():
    circuit = Circuit("rasa", threshold=1, cooldown_seconds=30)

    async def cancelled() -> None:
        async with circuit.guard():
            await asyncio.sleep(10)

    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert circuit.state()["state"] == "closed"
    with pytest.raises(RuntimeError):
        async with circuit.guard():
            raise RuntimeError("down")  # a real failure does count: threshold 1 opens the circuit
    with pytest.raises(CircuitOpen):
        async with circuit.guard():
            pass


async def test_replicas_take_turns_in_rotation_and_one_that_cannot_be_reached_is_passed_over():
    ports = [_free_port() for _ in range(3)]
    replicas = [TinyRasa({"messages": [{"text": f"replica {n}"}]}) for n in range(3)]
    servers = [await asyncio.start_server(rasa.serve, "127.0.0.1", port) for rasa, port in zip(replicas, ports)]
    client = RasaClient([f"http://127.0.0.1:{port}" for port in ports], "token", 5,
                        Circuit("rasa", threshold=1, cooldown_seconds=30))
    try:
        answers = [(await client.send("c1", "hi", {})).messages[0]["text"] for _ in range(6)]
        assert answers == ["replica 0", "replica 1", "replica 2"] * 2
        servers[1].close()
        await servers[1].wait_closed()
        answers = [(await client.send("c1", "hi", {})).messages[0]["text"] for _ in range(3)]
        assert answers == ["replica 0", "replica 2", "replica 2"]  # the turn meant for 1 went to the next one
        assert [rasa.requests for rasa in replicas] == [3, 2, 4]
        assert client.circuit.state()["state"] == "closed"  # every turn was answered
        for server in servers[::2]:
            server.close()
            await server.wait_closed()
        with pytest.raises(RasaUnavailable, match="could not be reached"):
            await client.send("c1", "hi", {})  # none left: the turn reached no one
    finally:
        await client.aclose()

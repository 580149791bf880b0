"""Rate limits per client address and per conversation (in memory, and on real Redis shared by two gateway
replicas), open sockets per address, and the HTTP body cap."""
from __future__ import annotations

import uuid

import pytest
import redis
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bot.body_limit import BodySizeLimit
from bot.rate_limits import KEY_PREFIX, RateLimits, Refusal, SocketSlots
from configuration.settings import GatewaySettings

LOW = GatewaySettings(messages_per_client="5/minute", messages_per_conversation="3/minute", opens_per_client="2/minute")


@pytest.fixture(params=["memory", "redis"])
def replicas(request):
    """Two gateways' limits: on Redis they count together, in memory each is alone (one process)."""
    url = request.getfixturevalue("unit_redis_url") if request.param == "redis" else None
    first = RateLimits(LOW, url)
    return (first, RateLimits(LOW, url)) if url else (first, first)


def _id() -> str:
    return uuid.uuid4().hex


@pytest.mark.asyncio
async def test_a_conversation_over_its_limit_is_refused_with_the_wait_in_whole_seconds(replicas):
    one, other = replicas
    client, conversation = _id(), _id()
    assert [await one.message(client, conversation), await other.message(client, conversation),
            await one.message(client, conversation)] == [None, None, None]
    refusal = await other.message(client, conversation)
    assert isinstance(refusal, Refusal) and 1 <= refusal.retry_after <= 60
    assert refusal.as_json()["error"] == "rate_limited"
    assert await one.message(client, _id()) is None  # another conversation of the same client still goes


@pytest.mark.asyncio
async def test_a_client_over_its_limit_is_refused_in_every_conversation(replicas):
    one, other = replicas
    client = _id()
    for _ in range(5):
        assert await one.message(client, _id()) is None
    assert await other.message(client, _id()) is not None
    assert await other.message(_id(), _id()) is None  # another address is not affected
    assert await one.message(None, _id()) is None  # no address (WeChat's servers): the conversation limit only


@pytest.mark.asyncio
async def test_opens_are_limited_per_address(replicas):
    one, other = replicas
    client = _id()
    assert await one.open(client) is None and await other.open(client) is None
    assert await one.open(client) is not None
    assert await one.open(_id()) is None


@pytest.mark.asyncio
async def test_every_redis_key_expires(unit_redis_url):
    limits = RateLimits(LOW, unit_redis_url)
    identifiers = [_id(), _id(), _id()]
    await limits.message(identifiers[0], identifiers[1])
    await limits.open(identifiers[2])
    client = redis.Redis.from_url(unit_redis_url)
    keys = [key for identifier in identifiers for key in client.scan_iter(f"{KEY_PREFIX}*{identifier}*")]
    assert len(keys) == 3 and all(0 < client.ttl(key) <= 60 for key in keys)  # every window here is a minute
    await limits.aclose()


def test_socket_slots_per_address_and_nothing_kept_for_an_address_with_none_open():
    slots = SocketSlots(2)
    assert slots.acquire("10.0.0.1") and slots.acquire("10.0.0.1")
    assert not slots.acquire("10.0.0.1")
    assert slots.acquire("10.0.0.2")
    slots.release("10.0.0.1")
    assert slots.acquire("10.0.0.1")
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        slots.release(address)
    assert slots.size() == 0


def _echo_app(max_bytes: int) -> tuple[FastAPI, list[int]]:
    app = FastAPI()
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
    seen: list[int] = []

    @app.post("/echo-size")
    async def echo_size(request: Request) -> dict[str, int]:
        size = len(await request.body())
        seen.append(size)
        return {"size": size}

    return app, seen


def test_bodies_over_the_cap_get_413_without_reaching_the_app_and_smaller_ones_pass_whole():
    app, seen = _echo_app(1024)
    with TestClient(app) as client:
        assert client.post("/echo-size", content=b"x" * 1024).json() == {"size": 1024}
        declared = client.post("/echo-size", content=b"x" * 5000)
        assert declared.status_code == 413 and declared.json() == {"error": "payload_too_large"}
        chunked = client.post("/echo-size", content=iter([b"x" * 600, b"x" * 600]))  # no Content-Length
        assert chunked.status_code == 413
        assert client.post("/echo-size", content=iter([b"x" * 300, b"x" * 300])).json() == {"size": 600}
    assert seen == [1024, 600]

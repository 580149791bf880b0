"""The push seam: a message published for one conversation reaches that conversation's subscribers and
the all-conversations subscribers (other replicas' channels), and nobody else."""
from __future__ import annotations

import asyncio

import pytest

from bot.handoff.bus import InProcessPushBus, RedisPushBus, each_push, push_message
from tests.unit.handoff_redis import redis_prefix  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", "redis"])
def make_bus(request, redis_prefix):
    url, _ = redis_prefix
    return InProcessPushBus if request.param == "memory" else (lambda: RedisPushBus(url))


async def test_a_push_reaches_its_conversation_and_the_all_conversations_subscribers_only(make_bus):
    publisher, replica = make_bus(), make_bus()
    bus_for_sockets = publisher if isinstance(publisher, InProcessPushBus) else replica
    mine = await bus_for_sockets.subscribe("conv-a")
    other = await bus_for_sockets.subscribe("conv-b")
    everything = await bus_for_sockets.subscribe(None)
    message = push_message("agent", "您好，我是人工专员")
    marker = push_message("bot", "给 conv-b 的")
    await publisher.publish("conv-a", message)
    await publisher.publish("conv-b", marker)  # published after: a positive marker, not a wait for silence

    assert await asyncio.wait_for(mine.get(), 30) == ("conv-a", message)
    assert await asyncio.wait_for(everything.get(), 30) == ("conv-a", message)
    assert await asyncio.wait_for(everything.get(), 30) == ("conv-b", marker)
    # conv-b's subscriber sees its own push first: conv-a's never reached it.
    assert await asyncio.wait_for(other.get(), 30) == ("conv-b", marker)
    for subscription in (mine, other, everything):
        await subscription.aclose()
    await publisher.aclose()
    await replica.aclose()


async def test_each_push_has_its_own_id_for_once_only_delivery():
    first, second = push_message("bot", "x"), push_message("bot", "x")
    assert first["id"] != second["id"] and first["text"] == second["text"] == "x"


async def test_a_channel_relay_survives_a_failed_delivery():
    bus = InProcessPushBus()
    delivered: list[str] = []

    async def deliver(conversation_id: str, message: dict) -> None:
        if message["text"] == "boom":
            raise RuntimeError("channel down")
        delivered.append(f"{conversation_id}:{message['text']}")

    relay = asyncio.create_task(each_push(bus, deliver))
    await asyncio.sleep(0.05)
    await bus.publish("c1", push_message("bot", "boom"))
    await bus.publish("c2", push_message("agent", "您好"))
    for _ in range(1500):  # until delivered; the 30 s bound only stops a hang on a loaded machine
        if delivered:
            break
        await asyncio.sleep(0.02)
    relay.cancel()
    assert delivered == ["c2:您好"]

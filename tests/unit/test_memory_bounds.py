"""Every in-process store of the gateway is bounded: entries expire, and past a size the least recently
used go, so a flood of conversations, sessions or pushes cannot grow memory without end."""
from __future__ import annotations

import asyncio

import pytest

from bot.channels.state import InMemoryChannelState
from bot.handoff.bus import MAX_PENDING_PUSHES, InProcessPushBus, push_message
from bot.sessions import Conversation, InMemorySessionStore

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def conversation(conversation_id: str) -> Conversation:
    return Conversation(conversation_id, "B000005", "websocket", "Asia/Shanghai", "2026-11-23T02:00:00+00:00")


async def test_the_session_store_keeps_at_most_its_size_dropping_the_least_recently_used():
    store = InMemorySessionStore(max_conversations=2)
    for conversation_id in ("conv-a", "conv-b"):
        await store.create(conversation(conversation_id))
        await store.append(conversation_id, {"speaker": "borrower", "text": "你好"})
    await store.get("conv-a")  # used: conv-b is now the least recent
    await store.create(conversation("conv-c"))
    assert store.size() == 2
    assert await store.get("conv-b") is None and await store.transcript("conv-b") == []
    assert (await store.get("conv-a")).conversation_id == "conv-a"
    assert await store.transcript("conv-a") == [{"speaker": "borrower", "text": "你好"}]


async def test_the_session_store_forgets_a_conversation_after_its_ttl():
    clock = Clock()
    store = InMemorySessionStore(max_conversations=10, ttl_seconds=60, timer=clock)
    await store.create(conversation("conv-old"))
    clock.now += 61
    assert await store.get("conv-old") is None and store.size() == 0


async def test_channel_state_expires_each_key_at_its_own_time_and_keeps_at_most_its_size():
    clock = Clock()
    state = InMemoryChannelState(monotonic=clock, max_items=3)
    await state.set("short", "1", 10)
    await state.set("long", "2", 1000)
    clock.now += 11
    assert await state.get("short") is None and await state.get("long") == "2"
    for number in range(10):
        await state.set(f"key-{number}", str(number), 1000)
    assert state.size() == 3
    assert [await state.get(f"key-{number}") for number in (7, 8, 9)] == ["7", "8", "9"]


async def test_a_counter_keeps_its_window_when_incremented():
    clock = Clock()
    state = InMemoryChannelState(monotonic=clock)
    assert await state.incr("attempts", 60) == 1
    clock.now += 50
    assert await state.incr("attempts", 60) == 2
    clock.now += 11  # 61 s after the first increment: the window is over
    assert await state.incr("attempts", 60) == 1


async def test_a_push_subscriber_that_is_not_read_holds_only_the_latest_pushes():
    bus = InProcessPushBus()
    subscription = await bus.subscribe("conv-a")
    for number in range(MAX_PENDING_PUSHES + 50):
        await bus.publish("conv-a", push_message("agent", f"第{number}条"))
    received = [(await asyncio.wait_for(subscription.get(), 1))[1]["text"] for _ in range(MAX_PENDING_PUSHES)]
    assert received[0] == "第50条" and received[-1] == f"第{MAX_PENDING_PUSHES + 49}条"
    await subscription.aclose()

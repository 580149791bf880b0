"""Pushed messages (an agent's words, handoff notices) reach a WeChat borrower as customer-service
messages, through a real HTTP client against the fake WeChat API server, exactly once even when
several gateway replicas hear the same push."""
from __future__ import annotations

import asyncio

import pytest

from bot.channels.state import InMemoryChannelState
from bot.channels.wechat import WeChatChannel
from bot.conversations import TurnResult
from bot.handoff.bus import InProcessPushBus, push_message
from configuration.settings import Settings, WeChatSettings
from tests.fakes.wechat_api import FakeWeChatApi

pytestmark = pytest.mark.asyncio
APP_ID, APP_SECRET, OPENID = "wx0123456789abcdef", "secret-for-tests", "o-push-test-openid"


DEADLINE_SECONDS = 30  # generous: these waits end on an event, the deadline only stops a hang


class ObservedState(InMemoryChannelState):
    """The shared state, noting every once-only claim a replica checks: once every replica has checked
    a push's claim, every replica has finished with the pushes published before it (a relay handles
    pushes in order), so "nothing else was sent" can be asserted without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.claims_checked: dict[str, int] = {}

    async def first_seen(self, key: str, ttl_seconds: int) -> bool:
        first = await super().first_seen(key, ttl_seconds)
        self.claims_checked[key] = self.claims_checked.get(key, 0) + 1
        return first

    async def wait_until_checked(self, push: dict, times: int) -> None:
        deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
        while self.claims_checked.get(f"pushed:{push['id']}", 0) < times:
            assert asyncio.get_running_loop().time() < deadline, "the relays never handled the last push"
            await asyncio.sleep(0.01)


async def test_a_push_goes_out_once_through_the_customer_service_api_even_with_two_replicas():
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        config = Settings(wechat=WeChatSettings(token="token", app_id=APP_ID, app_secret=APP_SECRET,
                                                       api_base=fake.base_url))
        shared_state = ObservedState()  # what Redis is to real replicas
        replicas = [WeChatChannel(config, state=shared_state) for _ in range(2)]
        bus = InProcessPushBus()
        # A turn on the channel links the conversation to the openid it came from.
        await replicas[0]._after_turn(OPENID, "conv-wechat-1", "B000009", TurnResult([], False))
        relays = [asyncio.create_task(replica.relay_pushes(bus)) for replica in replicas]
        await asyncio.sleep(0.05)  # the relays subscribe (in-process: on their first run)
        await bus.publish("conv-wechat-1", push_message("agent", "您好，我是人工专员。"))
        await bus.publish("conv-not-on-wechat", push_message("agent", "别处的消息"))
        last = push_message("bot", "最后一条")  # a positive marker: both replicas handle it after the others
        await bus.publish("conv-wechat-1", last)
        await shared_state.wait_until_checked(last, times=len(replicas))
        await asyncio.to_thread(fake.wait_for_messages, 2, DEADLINE_SECONDS)
        for relay in relays:
            relay.cancel()
    # Each push exactly once; the two may go out in either order (different replicas may send them).
    assert sorted((m["touser"], m["text"]["content"]) for m in fake.messages) == sorted([
        (OPENID, "您好，我是人工专员。"), (OPENID, "最后一条")])
    assert all(m["_raw_utf8"] for m in fake.messages)


async def test_an_ended_wechat_conversation_gets_no_pushes():
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        config = Settings(wechat=WeChatSettings(token="token", app_id=APP_ID, app_secret=APP_SECRET,
                                                       api_base=fake.base_url))
        channel = WeChatChannel(config, state=InMemoryChannelState())
        bus = InProcessPushBus()
        await channel._after_turn(OPENID, "conv-ended", "B000009", TurnResult([], False))
        await channel._after_turn(OPENID, "conv-ended", "B000009", TurnResult([], True))
        await channel._after_turn(OPENID, "conv-live", "B000009", TurnResult([], False))
        relay = asyncio.create_task(channel.relay_pushes(bus))
        await asyncio.sleep(0.05)  # the relay subscribes (in-process: on its first run)
        await bus.publish("conv-ended", push_message("bot", "迟到的消息"))
        # A positive marker: the relay handles pushes in order, so once this one is out the late
        # message to the ended conversation has been handled too.
        await bus.publish("conv-live", push_message("bot", "进行中的会话"))
        await asyncio.to_thread(fake.wait_for_messages, 1, DEADLINE_SECONDS)
        relay.cancel()
    assert [m["text"]["content"] for m in fake.messages] == ["进行中的会话"]

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
from bot.settings import GatewaySettings
from tests.fakes.wechat_api import FakeWeChatApi

pytestmark = pytest.mark.asyncio
APP_ID, APP_SECRET, OPENID = "wx0123456789abcdef", "secret-for-tests", "o-push-test-openid"


async def test_a_push_goes_out_once_through_the_customer_service_api_even_with_two_replicas():
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        config = GatewaySettings(wechat_token="token", wechat_app_id=APP_ID, wechat_app_secret=APP_SECRET,
                                 wechat_api_base=fake.base_url)
        shared_state = InMemoryChannelState()  # what Redis is to real replicas
        replicas = [WeChatChannel(config, state=shared_state) for _ in range(2)]
        bus = InProcessPushBus()
        # A turn on the channel links the conversation to the openid it came from.
        await replicas[0]._after_turn(OPENID, "conv-wechat-1", "B000009", TurnResult([], False))
        relays = [asyncio.create_task(replica.relay_pushes(bus)) for replica in replicas]
        await asyncio.sleep(0.05)
        await bus.publish("conv-wechat-1", push_message("agent", "您好，我是人工专员。"))
        await bus.publish("conv-not-on-wechat", push_message("agent", "别处的消息"))
        messages = await asyncio.to_thread(fake.wait_for_messages, 1)
        await asyncio.sleep(0.3)  # time for a duplicate to show up, if there were one
        for relay in relays:
            relay.cancel()
    assert [(m["touser"], m["text"]["content"]) for m in fake.messages] == [(OPENID, "您好，我是人工专员。")]
    assert messages[0]["_raw_utf8"]


async def test_an_ended_wechat_conversation_gets_no_pushes():
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        config = GatewaySettings(wechat_token="token", wechat_app_id=APP_ID, wechat_app_secret=APP_SECRET,
                                 wechat_api_base=fake.base_url)
        channel = WeChatChannel(config, state=InMemoryChannelState())
        bus = InProcessPushBus()
        await channel._after_turn(OPENID, "conv-ended", "B000009", TurnResult([], False))
        await channel._after_turn(OPENID, "conv-ended", "B000009", TurnResult([], True))
        relay = asyncio.create_task(channel.relay_pushes(bus))
        await asyncio.sleep(0.05)
        await bus.publish("conv-ended", push_message("bot", "迟到的消息"))
        await asyncio.sleep(0.5)
        relay.cancel()
    assert fake.messages == []

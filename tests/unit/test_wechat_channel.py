"""The WeChat Official Account channel at its protocol boundary.

The channel runs for real (signatures, AES, replay and MsgId guards, passive XML, customer-service API
over HTTP to a fake WeChat server); ConversationService is a small stand-in with the same open/handle
shape, because the real one needs Rasa (the e2e suite covers the full stack).
"""
from __future__ import annotations

from types import SimpleNamespace

import asyncio
import base64
import hashlib
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import ASK_REFERENCE, TEXT_ONLY, TOO_MANY_ATTEMPTS, WeChatChannel
from bot.channels.state import InMemoryChannelState
from bot.channels.wechat_bindings import WeChatBindings
from bot.rate_limits import SLOW_DOWN_TEXT, RateLimits
from bot.conversations import ConversationEnded, TurnResult, UnknownConversation
from bot.egress import OutgoingMessage
from bot.sessions import Conversation
from configuration.settings import GatewaySettings, Settings, WeChatSettings
from tests.fakes.wechat_api import FakeWeChatApi

TOKEN = "test-token-123"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "not-a-real-secret"
OPENID = "oUser_abcdefghijklmnopqrstuv"
GREETING = "您好，我是智能客服。请告诉我您的姓名以核实身份。"


class StandInConversations:
    """open/handle shaped like ConversationService; replies are fixed OutgoingMessages."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        # When set, a turn waits until the test opens this gate: "answered before the turn finished"
        # is then a fact about order, not a race against the clock.
        self.gate: threading.Event | None = None
        self.opened: list[tuple[str, str]] = []
        self.handled: list[tuple[str, str]] = []
        self._conversations: dict[str, Conversation] = {}

    async def open(self, borrower_id: str, channel: str) -> tuple[Conversation, TurnResult]:
        conversation = Conversation(uuid.uuid4().hex, borrower_id, channel, "Asia/Shanghai",
                                    datetime.now(timezone.utc).isoformat())
        self._conversations[conversation.conversation_id] = conversation
        self.opened.append((borrower_id, channel))
        return conversation, TurnResult([OutgoingMessage(GREETING)], False)

    async def handle(self, conversation_id: str, text: str) -> TurnResult:
        conversation = self._conversations.get(conversation_id)
        if conversation is None:
            raise UnknownConversation(conversation_id)
        if conversation.ended:
            raise ConversationEnded(conversation_id)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            assert await asyncio.to_thread(self.gate.wait, 60), "the test never opened the gate"
        self.handled.append((conversation_id, text))
        if text == "再见":
            conversation.ended = True
            return TurnResult([OutgoingMessage("感谢您的配合，再见。")], True)
        if text == "张伟 3821":
            return TurnResult([OutgoingMessage("身份核实通过。"), OutgoingMessage("请问有什么可以帮您？")], False,
                              identity_verified=True)
        return TurnResult([OutgoingMessage(f"收到：{text}"), OutgoingMessage("还有其他问题吗？")], False)


def _signature(timestamp: str, nonce: str, token: str = TOKEN) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def _text_xml(content: str, msg_id: int, openid: str = OPENID) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def _event_xml(event: str, openid: str = OPENID, create_time: int | None = None) -> str:
    # Events carry no MsgId: WeChat (and the channel) tell them apart by sender + CreateTime.
    return (f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event></xml>")


_msg_ids = iter(range(10_000_000, 20_000_000))


def _msg_id() -> int:
    return next(_msg_ids)


def _settings(**overrides) -> Settings:
    values = dict(token=TOKEN, app_id=APP_ID, app_secret=APP_SECRET,
                  api_base="http://127.0.0.1:9", passive_reply_budget_seconds=2.0)
    values.update(overrides)
    return Settings(wechat=WeChatSettings(**values))


def _app(service: StandInConversations, config: Settings, state: InMemoryChannelState | None = None) -> FastAPI:
    channel = WeChatChannel(config, state=state or InMemoryChannelState())
    app = FastAPI()
    app.include_router(channel.router)
    app.state.services = SimpleNamespace(conversations=service, limits=RateLimits(config.gateway, None))
    return app


class Wire:
    """Posts what WeChat's servers would post, signed unless told otherwise."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, body: str | bytes, *, timestamp: str | None = None, nonce: str | None = None,
             signature: str | None = None, extra: dict | None = None):
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:10]
        params = {"signature": signature if signature is not None else _signature(timestamp, nonce),
                  "timestamp": timestamp, "nonce": nonce, "openid": OPENID, **(extra or {})}
        return self.client.post("/wechat/callback", params=params,
                                content=body.encode("utf-8") if isinstance(body, str) else body)

    def say(self, text: str, msg_id: int | None = None, openid: str = OPENID) -> str:
        """The reply text of a passive XML reply ('' for 'success')."""
        response = self.post(_text_xml(text, msg_id or _msg_id(), openid))
        assert response.status_code == 200, response.text
        return _reply_text(response.text)


def _reply_text(body: str) -> str:
    if body == "success":
        return ""
    reply = parse_message(body)
    assert reply.type == "text"
    return reply.content


@pytest.fixture
def service() -> StandInConversations:
    return StandInConversations()


@pytest.fixture
def wire(service):
    with TestClient(_app(service, _settings())) as client:
        yield Wire(client)


def _start(wire: Wire, reference: str = "B000001") -> None:
    assert wire.say("你好") == ASK_REFERENCE
    assert wire.say(reference) == GREETING


# ---- GET: the console's URL check --------------------------------------------------------------

def test_echostr_comes_back_when_the_signature_is_good(wire):
    timestamp, nonce = str(int(time.time())), "n0nce"
    response = wire.client.get("/wechat/callback", params={
        "signature": _signature(timestamp, nonce), "timestamp": timestamp, "nonce": nonce, "echostr": "hello-echo"})
    assert response.status_code == 200
    assert response.text == "hello-echo"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("signature", ["0" * 40, _signature("1", "2", token="other-token"), ""])
def test_echostr_is_refused_when_the_signature_is_wrong(wire, signature):
    response = wire.client.get("/wechat/callback", params={
        "signature": signature, "timestamp": "1", "nonce": "2", "echostr": "hello-echo"})
    assert response.status_code == 403
    assert "hello-echo" not in response.text


# ---- POST: a borrower's text -------------------------------------------------------------------

def test_signed_text_gets_a_passive_xml_reply_with_every_bot_message(wire, service):
    _start(wire)
    response = wire.post(_text_xml("我想还款", _msg_id()))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.findtext("ToUserName") == OPENID      # back to the sender
    assert root.findtext("FromUserName") == "gh_account"
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Content") == "收到：我想还款\n还有其他问题吗？"
    assert service.handled[-1][1] == "我想还款"


def test_a_user_over_the_message_limit_is_told_to_slow_down_and_nothing_is_taken(service):
    config = Settings(wechat=_settings().wechat, gateway=GatewaySettings(messages_per_conversation="4/minute"))
    with TestClient(_app(service, config)) as client:
        wire = Wire(client)
        _start(wire)  # two messages: the greeting question and the reference number
        assert wire.say("一") == "收到：一\n还有其他问题吗？"
        assert wire.say("二") == "收到：二\n还有其他问题吗？"
        assert wire.say("三") == SLOW_DOWN_TEXT
        assert wire.say("四", openid="o-another-user") == ASK_REFERENCE  # the limit is per user
    assert [text for _, text in service.handled] == ["一", "二"]


def test_unsigned_or_wrongly_signed_posts_are_refused(wire, service):
    body = _text_xml("我想还款", _msg_id())
    assert wire.client.post("/wechat/callback", content=body).status_code == 403
    assert wire.post(body, signature="f" * 40).status_code == 403
    assert wire.post(body, signature=_signature("1", "2", token="other-token")).status_code == 403
    assert service.opened == [] and service.handled == []


@pytest.mark.parametrize("offset", [-1000, 1000])
def test_stale_or_future_timestamps_are_refused(wire, service, offset):
    response = wire.post(_text_xml("B000001", _msg_id()), timestamp=str(int(time.time()) + offset))
    assert response.status_code == 403
    assert service.opened == []


def test_non_numeric_timestamp_is_refused(wire):
    assert wire.post(_text_xml("B000001", _msg_id()), timestamp="yesterday").status_code == 403


def test_a_replayed_timestamp_and_nonce_is_refused(wire, service):
    timestamp, nonce = str(int(time.time())), "replay-me"
    assert wire.post(_text_xml("你好", _msg_id()), timestamp=timestamp, nonce=nonce).status_code == 200
    # Same signed query, even with a new body and MsgId: refused.
    assert wire.post(_text_xml("B000001", _msg_id()), timestamp=timestamp, nonce=nonce).status_code == 403
    assert service.opened == []


@pytest.mark.parametrize("body", [
    "this is not xml", "<xml><unclosed>", "", "<xml>just text</xml>",
    "<xml><FromUserName>x</FromUserName></xml>",   # no MsgType
    "<xml><MsgType><a>1</a></MsgType><FromUserName>x</FromUserName></xml>",
    f"<xml><ToUserName>a</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>hi</Content><MsgId>not-a-number</MsgId></xml>",
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><MsgType>text</MsgType></xml>',
])
def test_malformed_xml_is_a_400_not_a_crash(wire, service, body):
    response = wire.post(body)
    assert response.status_code == 400
    assert service.opened == [] and service.handled == []


def test_an_oversized_body_is_a_413(wire, service):
    response = wire.post(_text_xml("x" * 70_000, _msg_id()))
    assert response.status_code == 413
    assert service.opened == []


def test_a_wechat_retry_of_the_same_msgid_is_never_a_second_turn(wire, service):
    _start(wire)
    msg_id = _msg_id()
    assert wire.say("我想还款", msg_id=msg_id) == "收到：我想还款\n还有其他问题吗？"
    assert wire.say("我想还款", msg_id=msg_id) == ""      # "success", new timestamp/nonce but same MsgId
    assert [text for _, text in service.handled] == ["我想还款"]


def test_non_text_messages_get_a_fixed_polite_reply(wire, service):
    image = (f"<xml><ToUserName>gh_account</ToUserName><FromUserName>{OPENID}</FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType>image</MsgType>"
             f"<PicUrl>http://example.invalid/p.jpg</PicUrl><MediaId>m</MediaId><MsgId>{_msg_id()}</MsgId></xml>")
    response = wire.post(image)
    assert response.status_code == 200
    assert _reply_text(response.text) == TEXT_ONLY
    assert service.opened == [] and service.handled == []


def test_other_events_are_acknowledged_with_success(wire, service):
    response = wire.post(_event_xml("TEMPLATESENDJOBFINISH"))
    assert response.status_code == 200 and response.text == "success"


# ---- identity: openid -> reference number -> conversation ----------------------------------------

def test_an_unbound_openid_is_asked_for_its_reference_number(wire, service):
    assert wire.say("我欠了多少钱？") == ASK_REFERENCE
    assert service.opened == []


def test_a_reference_number_opens_a_conversation_for_that_borrower(wire, service):
    assert wire.say("你好") == ASK_REFERENCE
    assert wire.say(" ｂ０００００２ ") == GREETING          # full-width and lower case are normalised
    assert service.opened == [("B000002", "wechat")]
    assert wire.say("我想还款").startswith("收到：我想还款")       # the same conversation continues
    assert len(service.opened) == 1


def test_openids_are_kept_apart(wire, service):
    _start(wire, "B000001")
    other = "oOther_zyxwvutsrqponmlkjihgf"
    assert wire.say("我想还款", openid=other) == ASK_REFERENCE
    assert service.opened == [("B000001", "wechat")]


def test_an_ended_conversation_is_forgotten(wire, service):
    _start(wire)
    assert wire.say("再见") == "感谢您的配合，再见。"
    assert wire.say("还在吗") == ASK_REFERENCE                 # never verified: asked again
    assert len(service.opened) == 1


def test_after_verification_the_openid_is_bound_and_the_next_conversation_opens_directly(wire, service):
    _start(wire, "B000003")
    assert wire.say("张伟 3821") == "身份核实通过。\n请问有什么可以帮您？"
    assert wire.say("再见") == "感谢您的配合，再见。"
    assert wire.say("你好") == GREETING                       # bound: no reference number needed
    assert service.opened == [("B000003", "wechat"), ("B000003", "wechat")]


def test_subscribe_greets_with_the_reference_prompt_or_opens_for_a_bound_openid(wire, service):
    first = int(time.time())
    response = wire.post(_event_xml("subscribe", create_time=first))
    assert _reply_text(response.text) == ASK_REFERENCE
    _start(wire, "B000004")
    assert wire.say("张伟 3821").startswith("身份核实通过")
    assert wire.say("再见")
    response = wire.post(_event_xml("subscribe", create_time=first + 1))
    assert _reply_text(response.text) == GREETING                      # bound: opens straight away
    assert service.opened == [("B000004", "wechat"), ("B000004", "wechat")]
    assert wire.post(_event_xml("subscribe", create_time=first + 1)).text == "success"  # a retry: deduped
    response = wire.post(_event_xml("unsubscribe", create_time=first + 2))
    assert response.text == "success"
    response = wire.post(_event_xml("subscribe", create_time=first + 3))   # unfollowing dropped the binding
    assert _reply_text(response.text) == ASK_REFERENCE
    assert len(service.opened) == 2


def test_a_reminder_finds_the_wechat_user_verified_as_the_borrower_until_they_unfollow(service):
    state = InMemoryChannelState()  # what Redis is to the gateway and the campaign worker
    bindings = WeChatBindings(state)
    with TestClient(_app(service, _settings(), state)) as client:
        wire = Wire(client)
        _start(wire, "B000005")
        assert asyncio.run(bindings.openid_of("B000005")) is None   # a reference number alone binds nothing
        assert wire.say("张伟 3821").startswith("身份核实通过")
        assert asyncio.run(bindings.openid_of("B000005")) == OPENID
        assert wire.post(_event_xml("unsubscribe")).text == "success"
        assert asyncio.run(bindings.openid_of("B000005")) is None


def test_reference_number_attempts_are_limited(service):
    with TestClient(_app(service, _settings(max_reference_attempts_per_day=2))) as client:
        wire = Wire(client)
        assert wire.say("B000001") == GREETING
        assert wire.say("再见")
        assert wire.say("B000002") == GREETING
        assert wire.say("再见")
        assert wire.say("B000003") == TOO_MANY_ATTEMPTS
    assert [borrower for borrower, _ in service.opened] == ["B000001", "B000002"]


# ---- slow turns: "success" now, customer-service message later -----------------------------------

def test_a_turn_slower_than_the_budget_is_delivered_through_the_customer_service_api():
    service = StandInConversations()
    with FakeWeChatApi(APP_ID, APP_SECRET) as fake:
        config = _settings(api_base=fake.base_url, passive_reply_budget_seconds=0.2)
        with TestClient(_app(service, config)) as client:
            wire = Wire(client)
            _start(wire)
            service.gate = threading.Event()
            response = wire.post(_text_xml("我想还款", _msg_id()))
            # The turn is still held at the gate, so this answer came at the budget, not after the turn.
            assert service.handled == [] and not service.gate.is_set()
            assert response.status_code == 200 and response.text == "success"
            fake.fail_next_sends = 1                       # the first API call fails: retried once
            service.gate.set()
            messages = fake.wait_for_messages(1, timeout=60)
    assert messages == [{"touser": OPENID, "msgtype": "text",
                         "text": {"content": "收到：我想还款\n还有其他问题吗？"}, "_raw_utf8": True}]
    assert len(fake.rejected) == 1
    assert fake.token_requests == [{"grant_type": "client_credential", "appid": APP_ID}]  # token cached
    assert [text for _, text in service.handled] == ["我想还款"]


# ---- safe mode (AES) -----------------------------------------------------------------------------

def test_safe_mode_encrypted_round_trip(service):
    aes_key = base64.b64encode(os.urandom(32)).decode()[:-1]   # 43 characters, as the console issues
    crypto = WeChatCrypto(TOKEN, aes_key, APP_ID)
    with TestClient(_app(service, _settings(encoding_aes_key=aes_key))) as client:
        wire = Wire(client)

        def send(text: str, msg_signature: str | None = None):
            timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
            envelope = crypto.encrypt_message(_text_xml(text, _msg_id()), nonce, timestamp)
            signed = msg_signature or ET.fromstring(envelope).findtext("MsgSignature")
            return wire.post(envelope, timestamp=timestamp, nonce=nonce,
                             extra={"encrypt_type": "aes", "msg_signature": signed})

        response = send("B000001")
        assert response.status_code == 200
        reply_root = ET.fromstring(response.text)
        assert reply_root.findtext("Encrypt") and GREETING not in response.text   # encrypted on the wire
        plain = crypto.decrypt_message(response.text, reply_root.findtext("MsgSignature"),
                                       reply_root.findtext("TimeStamp"), reply_root.findtext("Nonce"))
        assert _reply_text(plain) == GREETING
        assert service.opened == [("B000001", "wechat")]

        assert send("我想还款", msg_signature="0" * 40).status_code == 403            # bad msg_signature
        assert wire.post(_text_xml("我想还款", _msg_id())).status_code == 403         # plaintext refused
    assert service.handled == []


# ---- wiring into the gateway ---------------------------------------------------------------------

def test_the_gateway_mounts_the_channel_only_when_a_token_is_set():
    from bot.app import create_app

    def status(config: Settings) -> int:
        client = TestClient(create_app(config))   # no `with`: the lifespan (Rasa, ledger) never starts
        return client.get("/wechat/callback", params={"signature": "0" * 40, "timestamp": "1", "nonce": "2"}).status_code

    assert status(Settings(wechat=WeChatSettings(token=TOKEN))) == 403
    assert status(Settings(wechat=WeChatSettings(token=None))) == 404

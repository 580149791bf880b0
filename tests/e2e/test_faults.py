"""Fault injection on the restartable stack (tests/e2e/conftest.py): the real Rasa, action server and Redis
processes are killed with SIGKILL (Rasa also frozen with SIGSTOP, as a hung server), and the gateway is
restarted, mid-conversation on every channel: REST, the chat WebSocket, the Socket.IO widget, WeChat (a fake
WeChat server at the HTTP boundary) and a phone call over the fake carrier. Each time the borrower gets a polite reply, nothing said is lost (transcript,
audit, promises in the ledger), and the conversation goes on once the service is back."""
from __future__ import annotations

import asyncio
import queue
import time
import uuid
from datetime import date

import httpx
import pytest
import socketio
from sqlalchemy import select

from bot.launcher import Stack
from configuration.settings import GatewaySettings
from ledger.db import make_engine, make_session_factory
from ledger.models import AuditRecord
from ledger.wording import yuan
from tests.e2e.chat import Chat, bearer, borrower_link
from tests.e2e.conftest import CIRCUIT_COOLDOWN_SECONDS, REPLY_WAIT_SECONDS, restart_off_the_loop
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, rms
from tests.e2e.wechat import WeChatUser
from tests.stack import WECHAT_TEST_TOKEN

# The first test starts the restartable stack and restarts Rasa: two model loads, each minutes on a loaded machine.
pytestmark = [pytest.mark.e2e, pytest.mark.asyncio, pytest.mark.timeout(2400)]

FAULT_REPLY = GatewaySettings().fault_reply_text
UNAVAILABLE_REPLY = GatewaySettings().unavailable_reply_text
TURN_SECONDS = 90


def audit_of(ledger_url: str, conversation_id: str) -> list[tuple[str, str]]:
    engine = make_engine(ledger_url)
    try:
        with make_session_factory(engine)() as session:
            return [(row.speaker, row.text) for row in session.scalars(
                select(AuditRecord).where(AuditRecord.conversation_id == conversation_id).order_by(AuditRecord.id))]
    finally:
        engine.dispose()


class Rest:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._secrets: dict[str, str] = {}  # conversation id -> the secret its opening returned

    async def open(self, borrower_id: str) -> str:
        response = await self.http.post("/api/conversations", json={"borrower_link": borrower_link(borrower_id)})
        assert response.status_code == 201, response.text
        self._secrets[response.json()["conversation_id"]] = response.json()["secret"]
        return response.json()["conversation_id"]

    async def say(self, conversation_id: str, text: str, key: str | None = None) -> httpx.Response:
        headers = {**bearer(self._secrets[conversation_id]), **({"Idempotency-Key": key} if key else {})}
        return await self.http.post(f"/api/conversations/{conversation_id}/messages", json={"text": text},
                                    headers=headers)

    async def heard(self, conversation_id: str, text: str) -> str:
        response = await self.say(conversation_id, text)
        assert response.status_code == 200, response.text
        return "\n".join(message["text"] for message in response.json()["messages"])

    async def transcript(self, conversation_id: str) -> list[dict]:
        response = await self.http.get(f"/api/conversations/{conversation_id}", headers=bearer(self._secrets[conversation_id]))
        assert response.status_code == 200, response.text
        return response.json()["transcript"]

    async def verified(self, borrower) -> str:
        conversation_id = await self.open(borrower.borrower_id)
        await self.heard(conversation_id, "是我本人")
        assert "核实通过" in await self.heard(conversation_id, f"身份证后四位是{borrower.id_last4}")
        return conversation_id


class Widget:
    """The rasa-webchat widget's side of the Socket.IO channel (as tests/e2e/test_webchat_socketio.py)."""

    def __init__(self, gateway_url: str, borrower_id: str, session_id: str | None = None) -> None:
        """`session_id`: a session the gateway issued before, as the widget keeps it in sessionStorage."""
        self.borrower_id = borrower_id
        self.events: queue.Queue = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        self.client.on("session_confirm", lambda data: self.events.put(("session_confirm", data)))
        self.client.on("bot_uttered", lambda data: self.events.put(("bot_uttered", data)))
        self.client.on("error", lambda data: self.events.put(("error", data)))
        self.client.connect(gateway_url, socketio_path="socket.io", wait_timeout=30)
        self.client.emit("session_request", {"session_id": session_id})
        kind, self.session_id = self.events.get(timeout=30)
        assert kind == "session_confirm"

    def say(self, message: dict, expect: str) -> str:
        """Sends a message and returns what the bot uttered until `expect` was heard."""
        self.client.emit("user_uttered", {**message, "customData": {"borrower_link": borrower_link(self.borrower_id)},
                                          "session_id": self.session_id})
        heard = ""
        while expect not in heard:
            kind, data = self.events.get(timeout=TURN_SECONDS)
            assert kind == "bot_uttered", (kind, data)
            heard += data["text"] + "\n"
        return heard

    def close(self) -> None:
        self.client.disconnect()


async def dtmf(carrier: FakeCarrier, digits: str) -> None:
    for digit in digits:
        await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                 "dtmf": {"track": "inbound_track", "digit": digit}})


async def keyed_turn(carrier: FakeCarrier, digits: str) -> bytes:
    """Keys the digits and returns the spoken reply, which may be in the transcript before it is awaited."""
    before = len(await carrier.transcript())
    await dtmf(carrier, digits)
    return await carrier.bot_reply(before=before)


def last_bot_text(transcript: list[dict]) -> str:
    return [entry["text"] for entry in transcript if entry["speaker"] == "bot"][-1]


async def circuit_state(http: httpx.AsyncClient) -> str:
    return (await http.get("/health")).json()["rasa_circuit"]["state"]


async def test_rasa_killed_every_channel_answers_politely_and_goes_on_when_it_is_back(
        restartable_stack: Stack, private_redis, ledger_url, borrowers, wechat_api):
    stack = restartable_stack
    rest_borrower, rest_account = borrowers.take()
    chat_borrower, widget_borrower, wechat_borrower = (borrowers.take()[0] for _ in range(3))
    phone_borrower, _ = borrowers.take(keyable_id=True)  # its ID digits are keyed on the phone
    wechat = WeChatUser(stack.gateway_url, WECHAT_TEST_TOKEN, wechat_api)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=TURN_SECONDS) as http, \
            FakeCarrier(stack.gateway_url, phone_borrower.borrower_id, borrowers.number_of(phone_borrower.borrower_id),
                        redis_url=private_redis.url) as carrier:
        rest = Rest(http)
        rest_id = await rest.verified(rest_borrower)
        chat = await asyncio.to_thread(Chat, stack.gateway_url, chat_borrower.borrower_id)
        widget = await asyncio.to_thread(Widget, stack.gateway_url, widget_borrower.borrower_id)
        try:
            await asyncio.to_thread(widget.say, {}, "本人")  # the widget's init message opens the conversation
            await carrier.bot_reply()
            await asyncio.to_thread(wechat.say, "你好")  # an unbound openid: asked for its reference
            assert "本人吗" in await asyncio.to_thread(wechat.say, wechat_borrower.borrower_id)
            before = await rest.transcript(rest_id)

            stack.kill("rasa")

            # REST: 200 with the fault reply, the borrower's words in the transcript and the audit; the same
            # Idempotency-Key again, while Rasa is still down, answers the same without recording anything twice.
            key = uuid.uuid4().hex
            first = await rest.say(rest_id, "我到底还欠多少钱", key)
            assert first.status_code == 200 and first.json()["fault"] is True, first.text
            assert [m["text"] for m in first.json()["messages"]] == [FAULT_REPLY]
            again = await rest.say(rest_id, "我到底还欠多少钱", key)
            assert again.json()["messages"] == first.json()["messages"] and again.json()["fault"] is True
            said = await rest.transcript(rest_id)
            assert [e["text"] for e in said].count("我到底还欠多少钱") == 1
            assert audit_of(ledger_url, rest_id)[-3:] == [
                ("borrower", "我到底还欠多少钱"), ("bot", FAULT_REPLY), ("bot", FAULT_REPLY)]

            # The chat WebSocket answers politely and stays open.
            assert await asyncio.to_thread(chat.say, "是我") == FAULT_REPLY
            # The widget hears it as bot_uttered; WeChat as a customer-service message.
            assert FAULT_REPLY in await asyncio.to_thread(widget.say, {"message": "是我"}, FAULT_REPLY)
            assert await asyncio.to_thread(wechat.say, "是我") == FAULT_REPLY
            # Three failures opened the circuit: the phone's turn fails fast, and is spoken, the call stays up.
            assert await circuit_state(http) == "opened"
            assert rms(await keyed_turn(carrier, "1234")) > AUDIBLE_RMS
            assert last_bot_text(await carrier.transcript()) == FAULT_REPLY
            assert not carrier.closed.is_set()

            await restart_off_the_loop(stack.restart_rasa)
            await asyncio.sleep(CIRCUIT_COOLDOWN_SECONDS)

            # Every conversation goes on where it was, nothing lost: the REST one is still verified, and the
            # client's retry of the turn Rasa never received gets its real answer; the words are kept once.
            assert (await rest.transcript(rest_id))[:len(before)] == before
            retried = await rest.say(rest_id, "我到底还欠多少钱", key)
            assert retried.json()["fault"] is False, retried.text
            assert yuan(rest_account.balance_cents) in "\n".join(m["text"] for m in retried.json()["messages"])
            assert [e["text"] for e in await rest.transcript(rest_id)].count("我到底还欠多少钱") == 1
            assert await circuit_state(http) == "closed"
            assert FAULT_REPLY not in await asyncio.to_thread(chat.say, "对，我就是本人")
            assert "后四位" in await asyncio.to_thread(widget.say, {"message": "对，我就是本人"}, "后四位")
            assert "后四位" in await asyncio.to_thread(wechat.say, "对，我就是本人")
            assert rms(await keyed_turn(carrier, phone_borrower.id_last4)) > AUDIBLE_RMS
            assert last_bot_text(await carrier.transcript()) != FAULT_REPLY
            assert not carrier.closed.is_set()
        finally:
            chat.close()
            widget.close()
            wechat.close()


async def test_action_server_killed_the_turn_ends_politely_and_the_next_one_is_answered(
        restartable_stack: Stack, ledger_url, borrowers):
    stack = restartable_stack
    borrower, account = borrowers.take()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=TURN_SECONDS) as http:
        rest = Rest(http)
        conversation_id = await rest.verified(borrower)
        stack.kill("actions")
        response = await rest.say(conversation_id, "我到底还欠多少钱")
        assert response.status_code == 200 and response.json()["fault"] is True, response.text
        assert response.json()["messages"][-1]["text"] == FAULT_REPLY
        assert audit_of(ledger_url, conversation_id)[-1] == ("bot", FAULT_REPLY)
        await restart_off_the_loop(stack.restart_action_server)
        await asyncio.sleep(CIRCUIT_COOLDOWN_SECONDS)
        assert yuan(account.balance_cents) in await rest.heard(conversation_id, "我到底还欠多少钱")


async def test_a_hung_rasa_gets_the_fault_reply_in_time_and_the_late_reply_is_pushed(
        restartable_stack: Stack, private_redis, borrowers):
    """On chat the late reply is pushed; on a call it is spoken after the fault reply."""
    stack = restartable_stack
    borrower, _ = borrowers.take()
    caller, _ = borrowers.take()
    chat = await asyncio.to_thread(Chat, stack.gateway_url, borrower.borrower_id)
    try:
        async with FakeCarrier(stack.gateway_url, caller.borrower_id, borrowers.number_of(caller.borrower_id),
                               redis_url=private_redis.url) as carrier:
            await carrier.bot_reply()
            stack.pause("rasa")
            try:
                before = len(await carrier.transcript())
                await carrier.say_fixture("d02.wav")  # "对，我就是张伟本人。"
                started = time.monotonic()
                assert await asyncio.to_thread(chat.say, "对，我就是本人") == FAULT_REPLY
                assert time.monotonic() - started < REPLY_WAIT_SECONDS + 5
                assert rms(await carrier.bot_reply(before=before)) > AUDIBLE_RMS
                assert last_bot_text(await carrier.transcript()) == FAULT_REPLY
                before = len(await carrier.transcript())
            finally:
                stack.pause("rasa", paused=False)
            assert rms(await carrier.bot_reply(before=before)) > AUDIBLE_RMS  # the late reply, spoken
            assert "后四位" in last_bot_text(await carrier.transcript())
            assert not carrier.closed.is_set()
        late = await asyncio.to_thread(chat.next_push, TURN_SECONDS)
        assert late["speaker"] == "bot" and "后四位" in late["text"], late
        async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=TURN_SECONDS) as http:
            said = (await http.get(f"/api/conversations/{chat.conversation_id}", headers=bearer(chat.secret))).json()["transcript"]
        assert [e["text"] for e in said[-3:]] == ["对，我就是本人", FAULT_REPLY, late["text"]]
        reply = await asyncio.to_thread(chat.say, f"身份证后四位是{borrower.id_last4}")
        assert "核实通过" in reply
    finally:
        chat.close()


async def test_redis_killed_the_gateway_answers_politely_and_recovers_with_everything(
        restartable_stack: Stack, private_redis, ledger, borrowers):
    stack = restartable_stack
    borrower, account = borrowers.take(min_balance_cents=300_000)
    chat_borrower, widget_borrower, phone_borrower = (borrowers.take()[0] for _ in range(3))
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=TURN_SECONDS) as http, \
            FakeCarrier(stack.gateway_url, phone_borrower.borrower_id, borrowers.number_of(phone_borrower.borrower_id),
                        redis_url=private_redis.url) as carrier:
        rest = Rest(http)
        conversation_id = await rest.verified(borrower)
        await rest.heard(conversation_id, "我这周五先还两千块")
        promises = [(p.amount_cents, p.promised_date) for p in ledger.promises_for(account.account_id)
                    if p.conversation_id == conversation_id]
        assert promises == [(200_000, date(2026, 11, 27))]
        before = await rest.transcript(conversation_id)
        chat = await asyncio.to_thread(Chat, stack.gateway_url, chat_borrower.borrower_id)
        widget = await asyncio.to_thread(Widget, stack.gateway_url, widget_borrower.borrower_id)
        try:
            await asyncio.to_thread(widget.say, {}, "本人")
            await carrier.bot_reply()
            phone_before = await carrier.transcript()

            private_redis.kill()
            response = await rest.say(conversation_id, "还有别的事吗")
            assert response.status_code == 503 and response.headers["Retry-After"], response.text
            assert [m["text"] for m in response.json()["messages"]] == [UNAVAILABLE_REPLY]
            assert await asyncio.to_thread(chat.say, "是我") == UNAVAILABLE_REPLY  # and the socket stays open
            assert UNAVAILABLE_REPLY in await asyncio.to_thread(widget.say, {"message": "是我"}, UNAVAILABLE_REPLY)
            frames_before = carrier.received.media_frames
            await dtmf(carrier, "1234")
            deadline = time.monotonic() + TURN_SECONDS
            while carrier.received.media_frames - frames_before < 50:  # a second of the spoken reply
                assert time.monotonic() < deadline and not carrier.closed.is_set(), "the call heard nothing"
                await asyncio.sleep(0.1)
            sign_in = await http.post("/api/console/login", json={"name": "e2e-agent-a", "password": "x"})
            assert sign_in.status_code == 503

            private_redis.start()  # the append-only file brings every acknowledged write back
            assert await rest.transcript(conversation_id) == before
            assert (await carrier.transcript())[:len(phone_before)] == phone_before
            assert FAULT_REPLY not in await asyncio.to_thread(chat.say, "对，我就是本人")
            assert "后四位" in await asyncio.to_thread(widget.say, {"message": "对，我就是本人"}, "后四位")
            assert yuan(account.balance_cents) in await rest.heard(conversation_id, "我到底还欠多少钱")
            assert not carrier.closed.is_set()
        finally:
            chat.close()
            widget.close()
    assert [(p.amount_cents, p.promised_date) for p in ledger.promises_for(account.account_id)
            if p.conversation_id == conversation_id] == promises


async def test_gateway_restarted_mid_conversation_every_channel_goes_on(
        restartable_stack: Stack, private_redis, borrowers, wechat_api):
    """Chat, REST, widget and WeChat conversations go on verified where they were; a phone call, whose line
    the restart cuts, keeps its transcript, and the borrower's next call is put through."""
    stack = restartable_stack
    (borrower, account), (rest_borrower, rest_account), (wechat_borrower, wechat_account) = (
        borrowers.take() for _ in range(3))
    widget_borrower, phone_borrower = (borrowers.take()[0] for _ in range(2))
    chat = await asyncio.to_thread(Chat, stack.gateway_url, borrower.borrower_id)
    await asyncio.to_thread(chat.say, "对，我就是本人")
    assert "核实通过" in await asyncio.to_thread(chat.say, f"身份证后四位是{borrower.id_last4}")
    wechat = WeChatUser(stack.gateway_url, WECHAT_TEST_TOKEN, wechat_api)
    widget = await asyncio.to_thread(Widget, stack.gateway_url, widget_borrower.borrower_id)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=TURN_SECONDS) as http:
        rest = Rest(http)
        rest_id = await rest.verified(rest_borrower)
        for text in ("你好", wechat_borrower.borrower_id, "对，我就是本人"):
            await asyncio.to_thread(wechat.say, text)
        assert "核实通过" in await asyncio.to_thread(wechat.say, f"身份证后四位是{wechat_borrower.id_last4}")
        await asyncio.to_thread(widget.say, {}, "本人")
        number = borrowers.number_of(phone_borrower.borrower_id)
        async with FakeCarrier(stack.gateway_url, phone_borrower.borrower_id, number,
                               redis_url=private_redis.url) as call:
            await call.bot_reply()
            said_on_the_call = await call.transcript()
            await restart_off_the_loop(stack.restart_gateway)
            await call.wait_closed(TURN_SECONDS)  # the restart cut the line
            assert (await call.transcript())[:len(said_on_the_call)] == said_on_the_call
        chat.close()
        widget.close()
        resumed = await asyncio.to_thread(
            lambda: Chat(stack.gateway_url, conversation_id=chat.conversation_id, secret=chat.secret))
        widget_again = await asyncio.to_thread(Widget, stack.gateway_url, widget_borrower.borrower_id, widget.session_id)
        try:
            assert widget_again.session_id == widget.session_id
            assert yuan(account.balance_cents) in await asyncio.to_thread(resumed.say, "我到底还欠多少钱")
            assert yuan(rest_account.balance_cents) in await rest.heard(rest_id, "我到底还欠多少钱")
            assert yuan(wechat_account.balance_cents) in await asyncio.to_thread(wechat.say, "我到底还欠多少钱")
            assert "后四位" in await asyncio.to_thread(widget_again.say, {"message": "对，我就是本人"}, "后四位")
        finally:
            resumed.close()
            widget_again.close()
            wechat.close()
        async with FakeCarrier(stack.gateway_url, phone_borrower.borrower_id, number,
                               redis_url=private_redis.url) as next_call:
            assert rms(await next_call.bot_reply()) > AUDIBLE_RMS

"""The rasa-webchat Socket.IO channel at its protocol boundary: the real ASGI wrapper served by uvicorn on a
127.0.0.1 port, driven by the real python-socketio client (Engine.IO v4) and, for the polling -> WebSocket
upgrade that socket.io-client 3 does, by raw Engine.IO frames over httpx + websockets.

The ConversationService is a stand-in with fixed OutgoingMessages (Rasa is not needed here); the real
stack is covered end to end elsewhere.
"""
from __future__ import annotations

from types import SimpleNamespace

import json
import queue
import re
import socket
import threading
import time
import uuid
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
import socketio
import uvicorn
from fastapi import FastAPI
from websockets.sync.client import connect as ws_connect

from bot.asgi import create_asgi_app, wrap_fastapi
from bot.channels import webchat_binding
from bot.conversations import (
    ConversationEnded, TurnResult, UnknownConversation, clean_borrower_text, valid_conversation_id,
)
from bot.egress import OutgoingMessage
from bot.links import BorrowerLinks, ChatEntry
from bot.sessions import Conversation
from bot.rate_limits import RateLimits, SocketSlots
from configuration.settings import GatewaySettings, Settings

try:  # the sync client upgrades to WebSocket only with websocket-client installed (not a project dependency)
    import websocket  # noqa: F401
    TRANSPORTS = ["polling", "websocket"]
except ImportError:
    TRANSPORTS = ["polling"]

BORROWER = "B000001"
SESSION_KEY = b"unit-test link and session key"
# issued by the gateway: random value, the binding digest of a browser's cookie if it carried one, and signature
SIGNED_SESSION_ID = r"[0-9a-f]{32}(-[0-9a-f]{16})?\.[A-Za-z0-9_-]{20,}"


LINKS = BorrowerLinks(SESSION_KEY)
OPENING = ["您好，这里是还款服务助手。", "为了保护您的信息，请先告诉我身份证号后四位。"]
PLAN_BUTTONS = [
    {"title": "一次结清", "payload": "/choose_plan{\"plan\": \"lump_sum\"}"},
    {"title": "分期还款", "payload": "/choose_plan{\"plan\": \"instalments\"}"},
]


class StandInConversations:
    """Same surface and errors as ConversationService; fixed replies; real borrower-text validation."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self.opened: list[tuple[str, str]] = []
        self.handled: list[tuple[str, Any]] = []

    async def open(self, borrower_id: str, channel: str) -> tuple[Conversation, TurnResult]:
        conversation = Conversation(uuid.uuid4().hex, borrower_id, channel, "Asia/Shanghai",
                                    datetime.now(timezone.utc).isoformat())
        self.conversations[conversation.conversation_id] = conversation
        self.opened.append((borrower_id, channel))
        return conversation, TurnResult([OutgoingMessage(text) for text in OPENING], False)

    async def open_chat(self, entry: ChatEntry, channel: str) -> tuple[Conversation, TurnResult]:
        return await self.open(entry.borrower_id, channel)

    async def get(self, conversation_id: str) -> Conversation:
        conversation = self.conversations.get(conversation_id) if valid_conversation_id(conversation_id) else None
        if conversation is None:
            raise UnknownConversation(conversation_id)
        return conversation

    async def handle(self, conversation_id: str, text: Any, turn_id: str | None = None) -> TurnResult:
        conversation = await self.get(conversation_id)
        if conversation.ended:
            raise ConversationEnded(conversation_id)
        cleaned = clean_borrower_text(text, 500)
        self.handled.append((conversation_id, cleaned))
        if cleaned == "有什么方案":
            return TurnResult([OutgoingMessage("您可以选择：", buttons=PLAN_BUTTONS)], False)
        if cleaned == "再见":
            conversation.ended = True
            return TurnResult([OutgoingMessage("感谢您的时间，再见。")], True)
        return TurnResult([OutgoingMessage(f"收到：{cleaned}"), OutgoingMessage("还有什么可以帮您？")], False)


class RunningServer:
    def __init__(self, app: Any) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=2))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    def __enter__(self) -> "RunningServer":
        self._thread.start()
        # Ends as soon as uvicorn is up; the bound only stops a hang. The real gateway's lifespan loads the
        # classifier and voice engines, which takes well over 10 s on a loaded two-core machine.
        deadline = time.monotonic() + 120
        while not self.server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class Widget:
    """What rasa-webchat does on the wire, through the real Socket.IO client."""

    def __init__(self, url: str, binding_cookie: str | None = None) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        for name in ("session_confirm", "bot_uttered", "error"):
            self.sio.on(name, lambda *args, _name=name: self.events.put((_name, args[0] if args else None)))
        # What a browser sends on the Socket.IO path once the gateway's chat page has given it the cookie.
        headers = {"Cookie": f"{webchat_binding.COOKIE}={binding_cookie}"} if binding_cookie else {}
        self.sio.connect(url, transports=TRANSPORTS, socketio_path="socket.io", wait_timeout=5, headers=headers)

    def next(self, timeout: float = 30) -> tuple[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no event from the server") from None

    def expect(self, name: str) -> Any:
        event, data = self.next()
        assert event == name, (event, data)
        return data

    def texts(self, count: int) -> list[str]:
        return [self.expect("bot_uttered")["text"] for _ in range(count)]

    def assert_next_events_answer_a_marker(self, session_id: str) -> None:
        """"Nothing else arrived", shown with a positive marker instead of a wait for silence: this
        socket sends a message now, and the very next events must be the replies to it. Anything the
        server wrongly sent this socket earlier would be in the queue ahead of them."""
        self.utter("标记", session_id)
        assert self.texts(2) == ["收到：标记", "还有什么可以帮您？"]

    def request_session(self, session_id: Any = None) -> str:
        self.sio.emit("session_request", {"session_id": session_id})
        return self.expect("session_confirm")

    def utter(self, message: str | None, session_id: str, borrower_id: str | None = BORROWER) -> None:
        link = LINKS.issue(borrower_id) if borrower_id else None
        payload: dict[str, Any] = {"session_id": session_id, "customData": {"borrower_link": link}}
        if message is not None:
            payload["message"] = message
        self.sio.emit("user_uttered", payload)

    def close(self, abort: bool = False) -> None:
        if abort:  # do not wait for the pending long-poll GET; the server drops the socket at ping timeout
            self.sio.eio.disconnect(abort=True)
        else:
            self.sio.disconnect()


@pytest.fixture
def service() -> StandInConversations:
    return StandInConversations()


@pytest.fixture
def gateway_limits() -> GatewaySettings:
    """The defaults; a test of the limits parametrizes this with its own."""
    return GatewaySettings()


@pytest.fixture
def server(service: StandInConversations, gateway_limits: GatewaySettings) -> Iterator[RunningServer]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = SimpleNamespace(
            conversations=service, links=LINKS, limits=RateLimits(gateway_limits, None),
            sockets=SocketSlots(gateway_limits.max_sockets_per_client))
        yield

    fastapi_app = FastAPI(lifespan=lifespan)

    @fastapi_app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # A short ping interval so that the sync client's polling disconnect, which waits for its pending
    # long-poll GET to come back, takes about a second instead of the default 25 s. The ping timeout stays
    # long: a client on a loaded machine that answers a ping late must not be dropped mid-test.
    asgi_app, _ = wrap_fastapi(fastapi_app, SESSION_KEY, ping_interval=0.5, ping_timeout=20)
    with RunningServer(asgi_app) as running:
        yield running


@pytest.fixture
def widgets(server: RunningServer) -> Iterator[list[Widget]]:
    opened: list[Widget] = []
    yield opened
    closing = [threading.Thread(target=widget.close) for widget in opened]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(timeout=30)


def _widget(server: RunningServer, widgets: list[Widget], binding_cookie: str | None = None) -> Widget:
    widget = Widget(server.url, binding_cookie)
    widgets.append(widget)
    return widget


def test_other_traffic_still_reaches_fastapi(server: RunningServer) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


def test_session_request_without_id_confirms_a_new_plain_string_id(server, widgets) -> None:
    widget = _widget(server, widgets)
    first = widget.request_session(None)
    assert isinstance(first, str) and re.fullmatch(SIGNED_SESSION_ID, first)
    assert widget.sio.transport() == TRANSPORTS[-1]
    other = _widget(server, widgets).request_session(None)
    assert other != first
    widget.sio.emit("session_request", "not a dict")
    assert re.fullmatch(SIGNED_SESSION_ID, widget.expect("session_confirm"))
    assert widget.request_session("../../etc") != "../../etc"


def test_init_message_without_text_opens_the_conversation(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter(None, session_id)
    assert widget.texts(2) == OPENING
    assert service.opened == [(BORROWER, "webchat")]
    assert service.handled == []


def test_init_payload_is_not_forwarded_as_borrower_text(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter("/start", session_id)
    assert widget.texts(2) == OPENING
    widget.utter("/start", session_id)  # a reopened widget sends its init payload again
    widget.assert_next_events_answer_a_marker(session_id)
    assert [text for _, text in service.handled] == ["标记"] and len(service.opened) == 1


def test_borrower_text_gets_replies_in_order(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter(None, session_id)
    widget.texts(2)
    widget.utter("我这个月手头紧", session_id)
    assert widget.texts(2) == ["收到：我这个月手头紧", "还有什么可以帮您？"]
    widget.utter("/ask_balance", session_id)  # typed, not the init payload: forwarded, neutralised
    assert widget.texts(2)[0] == "收到：／ask_balance"
    assert [text for _, text in service.handled] == ["我这个月手头紧", "／ask_balance"]


def test_buttons_become_quick_replies(server, widgets) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter(None, session_id)
    widget.texts(2)
    widget.utter("有什么方案", session_id)
    assert widget.expect("bot_uttered") == {
        "text": "您可以选择：",
        "quick_replies": [{"content_type": "text", **button} for button in PLAN_BUTTONS],
    }


def test_session_request_with_existing_id_resumes(server, widgets, service) -> None:
    first = _widget(server, widgets)
    session_id = first.request_session(None)
    first.utter(None, session_id)
    first.texts(2)
    first.close()

    again = _widget(server, widgets)
    assert again.request_session(session_id) == session_id
    again.utter("/start", session_id)  # the widget's init on reopening: no second opening
    again.utter("还在吗", session_id)
    assert again.texts(2) == ["收到：还在吗", "还有什么可以帮您？"]
    assert len(service.opened) == 1


def test_a_client_chosen_or_forged_session_id_gets_a_new_one(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    issued = widget.request_session(None)
    value, signature = issued.split(".")
    for presented in ("a1b2c3d4e5f60718293a4b5c6d7e8f90", value, f"{uuid.uuid4().hex}.{signature}",
                      f"{value}.{signature[:-2]}AA", issued + "x" * 100):
        replaced = widget.request_session(presented)
        assert replaced != presented and re.fullmatch(SIGNED_SESSION_ID, replaced)
    # One the gateway issued is kept even before its conversation opens (a tab reloaded early).
    assert widget.request_session(issued) == issued
    widget.utter("你好", issued)
    assert widget.texts(2) == OPENING  # opened; the first message is not forwarded
    assert service.handled == []


def test_a_session_bound_to_a_browsers_cookie_is_resumed_only_with_that_cookie(server, widgets, service) -> None:
    browser = _widget(server, widgets, binding_cookie="the-browsers-own-random-value")
    session_id = browser.request_session(None)
    assert re.fullmatch(SIGNED_SESSION_ID, session_id) and "-" in session_id.split(".")[0]
    browser.utter(None, session_id)
    assert browser.texts(2) == OPENING
    # Copied out of the page's sessionStorage: no use without the cookie, or with another browser's.
    for thief in (_widget(server, widgets), _widget(server, widgets, binding_cookie="another-browsers-value")):
        assert thief.request_session(session_id) != session_id
        thief.utter("我还欠多少", session_id)  # the payload's session id steers nothing
        assert thief.texts(2) == OPENING  # a fresh conversation of its own, not the borrower's
    # The same browser (a reloaded tab) resumes.
    reloaded = _widget(server, widgets, binding_cookie="the-browsers-own-random-value")
    assert reloaded.request_session(session_id) == session_id
    reloaded.utter("还在吗", session_id)
    assert reloaded.texts(2) == ["收到：还在吗", "还有什么可以帮您？"]
    # A socket with a cookie never takes over a session issued without one.
    unbound = _widget(server, widgets).request_session(None)
    assert _widget(server, widgets, binding_cookie="a").request_session(unbound) != unbound


def test_a_conversation_id_is_never_a_session_id(server, widgets, service) -> None:
    import asyncio
    webchat, _ = asyncio.run(service.open(BORROWER, "webchat"))
    rest, _ = asyncio.run(service.open(BORROWER, "rest"))
    widget = _widget(server, widgets)
    for conversation in (webchat, rest):
        assert widget.request_session(conversation.conversation_id) != conversation.conversation_id


def test_ended_conversation_is_not_resumed(server, widgets) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter(None, session_id)
    widget.texts(2)
    widget.utter("再见", session_id)
    assert widget.texts(1) == ["感谢您的时间，再见。"]
    widget.utter("等一下", session_id)
    assert widget.expect("error") == {"error": "conversation_ended"}
    assert widget.request_session(session_id) != session_id


def test_malformed_payloads_get_error_events_and_the_socket_stays_usable(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    widget.sio.emit("user_uttered", {"message": "你好", "customData": {"borrower_link": LINKS.issue(BORROWER)}})
    assert widget.expect("error") == {"error": "no_session"}
    session_id = widget.request_session(None)

    widget.sio.emit("user_uttered", "just a string")
    assert widget.expect("error") == {"error": "invalid_payload"}
    widget.sio.emit("user_uttered")
    assert widget.expect("error") == {"error": "invalid_payload"}
    widget.sio.emit("user_uttered", ["a", "list"])
    assert widget.expect("error") == {"error": "invalid_payload"}
    widget.sio.emit("user_uttered", {"message": "你好", "session_id": session_id})
    assert widget.expect("error") == {"error": "invalid_link"}
    for custom_data in ("B000001", {"borrower_id": BORROWER}, {"borrower_link": BorrowerLinks(b"another key").issue(BORROWER)},
                        {"borrower_link": LINKS.issue(BORROWER, hours=-1)}, {"borrower_link": "x" * 100_000}):
        widget.sio.emit("user_uttered", {"message": "你好", "customData": custom_data, "session_id": session_id})
        assert widget.expect("error") == {"error": "invalid_link"}, custom_data
    assert service.opened == []

    widget.utter(None, session_id)
    assert widget.texts(2) == OPENING
    widget.utter("欠" * 100_000, session_id)
    assert widget.expect("error") == {"error": "text_too_long"}
    widget.sio.emit("user_uttered", {"message": 42, "session_id": session_id})
    assert widget.expect("error") == {"error": "invalid_text"}
    widget.utter("   ", session_id)
    assert widget.expect("error") == {"error": "empty_text"}

    widget.utter("好的", session_id)
    assert widget.texts(2) == ["收到：好的", "还有什么可以帮您？"]
    assert widget.sio.connected


def test_payload_session_id_cannot_steer_into_another_session(server, widgets, service) -> None:
    victim = _widget(server, widgets)
    victim_session = victim.request_session(None)
    victim.utter(None, victim_session)
    victim.texts(2)
    other = _widget(server, widgets)
    other_session = other.request_session(None)
    other.utter(None, victim_session)  # claims the victim's session in the payload only
    assert other.texts(2) == OPENING  # opened its own conversation
    assert len(service.opened) == 2
    victim.assert_next_events_answer_a_marker(victim_session)
    assert other_session != victim_session


def test_two_tabs_on_one_session_both_receive_replies(server, widgets) -> None:
    tab1 = _widget(server, widgets)
    session_id = tab1.request_session(None)
    tab2 = _widget(server, widgets)
    assert tab2.request_session(session_id) == session_id  # not yet bound: kept
    tab1.utter(None, session_id)
    assert tab1.texts(2) == OPENING
    assert tab2.texts(2) == OPENING
    tab2.utter("我想分期", session_id)
    assert tab1.texts(2) == ["收到：我想分期", "还有什么可以帮您？"]
    assert tab2.texts(2) == ["收到：我想分期", "还有什么可以帮您？"]
    tab2.utter("", session_id)
    assert tab2.expect("error") == {"error": "empty_text"}
    tab1.assert_next_events_answer_a_marker(session_id)  # errors go only to the socket that sent the bad message


def _eio_packets(body: str) -> list[str]:
    return body.split("\x1e")  # Engine.IO v4 polling payload separator


def test_polling_then_websocket_upgrade_as_socketio_client_3_does(server) -> None:
    base = f"{server.url}/socket.io/?EIO=4"
    with httpx.Client(timeout=5) as http:
        handshake = http.get(f"{base}&transport=polling").text
        assert handshake.startswith("0")
        opened = json.loads(handshake[1:])
        assert "websocket" in opened["upgrades"]
        sid = opened["sid"]
        assert http.post(f"{base}&transport=polling&sid={sid}", content="40").text.lower() == "ok"
        assert _eio_packets(http.get(f"{base}&transport=polling&sid={sid}").text)[0].startswith("40")

    ws_url = server.url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&sid={sid}"
    with ws_connect(ws_url, open_timeout=5) as ws:
        ws.send("2probe")
        assert ws.recv(timeout=5) == "3probe"
        ws.send("5")  # upgrade complete: from here on, WebSocket only

        def next_event() -> list[Any]:
            while True:
                frame = ws.recv(timeout=5)
                if frame == "2":
                    ws.send("3")
                elif frame.startswith("42"):
                    return json.loads(frame[2:])

        ws.send('42["session_request",{"session_id":null}]')
        event, session_id = next_event()
        assert event == "session_confirm" and re.fullmatch(SIGNED_SESSION_ID, session_id)
        ws.send("42" + json.dumps(["user_uttered", {
            "message": "/start", "customData": {"borrower_link": LINKS.issue(BORROWER)}, "session_id": session_id,
        }], ensure_ascii=False))
        assert [next_event() for _ in OPENING] == [["bot_uttered", {"text": text}] for text in OPENING]


def test_create_asgi_app_runs_the_real_gateway_lifespan(monkeypatch, tmp_path) -> None:
    """The factory the launcher will use: ASGIApp forwards the lifespan, so app.state.services exists."""
    monkeypatch.setenv("COLLECTIONS_LEDGER_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("COLLECTIONS_GATEWAY_LINK_KEY_FILE", str(tmp_path / "link.key"))
    monkeypatch.setenv("COLLECTIONS_RASA_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_asgi_app(Settings())
    with RunningServer(app) as running:
        assert httpx.get(f"{running.url}/health").json() == {
            "status": "ok", "rasa_circuit": {"state": "closed", "failures": 0}}
        # Answered by the real ConversationService (lifespan ran): unknown, not a 500 for a missing state.
        response = httpx.get(f"{running.url}/api/conversations/{'0' * 32}")
        assert response.status_code == 404 and response.json() == {"error": "unknown_conversation"}
        widget = Widget(running.url)
        try:
            session_id = widget.request_session("0" * 32)
            assert re.fullmatch(SIGNED_SESSION_ID, session_id)  # never a client's own choice
            widget.utter("你好", session_id, borrower_id=None)
            assert widget.expect("error") == {"error": "invalid_link"}  # checked by the real BorrowerLinks
        finally:
            widget.close(abort=True)


@pytest.mark.parametrize("gateway_limits", [GatewaySettings(messages_per_conversation="3/minute", opens_per_client="1/minute",
                                                            max_sockets_per_client=2)])
def test_limits_refuse_with_error_events_and_never_drop_a_message(server, widgets, service) -> None:
    widget = _widget(server, widgets)
    session_id = widget.request_session(None)
    widget.utter(None, session_id)
    assert widget.texts(2) == OPENING
    for text in ("一", "二", "三"):
        widget.utter(text, session_id)
    assert widget.texts(6) == ["收到：一", "还有什么可以帮您？", "收到：二", "还有什么可以帮您？", "收到：三", "还有什么可以帮您？"]
    widget.utter("四", session_id)
    refusal = widget.expect("error")
    assert refusal["error"] == "rate_limited" and 1 <= refusal["retry_after"] <= 60, refusal
    assert [text for _, text in service.handled] == ["一", "二", "三"]  # the fourth was refused, not taken

    second = _widget(server, widgets)
    other_session = second.request_session(None)
    second.utter(None, other_session)
    assert second.expect("error")["error"] == "rate_limited"  # one open per minute from this address
    refused: list[Any] = []
    third = socketio.Client(reconnection=False)  # a third socket from the same address
    third.on("connect_error", refused.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        third.connect(server.url, transports=TRANSPORTS, socketio_path="socket.io", wait_timeout=5)
    assert refused == [{"message": "too_many_connections"}]
    widget.close()
    deadline = time.monotonic() + 10  # the server sees the disconnect after the client's close returns
    while True:
        try:
            widgets.append(Widget(server.url))
            break
        except socketio.exceptions.ConnectionError:
            assert time.monotonic() < deadline, "a closed socket's slot was never given back"
            time.sleep(0.2)


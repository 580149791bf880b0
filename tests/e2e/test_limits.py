"""Resource limits on a real gateway of their own (low limits, beside the suite's Rasa, action server and
Redis): a flooding client is refused with clear errors while another borrower's turn completes, every
message is answered or refused (none vanishes), an oversized WebSocket frame closes the socket with 1009
and the gateway stays up, a long conversation closes politely, and sockets and browser calls per address are
capped.

Each test speaks as its own client address (X-Forwarded-For, which uvicorn takes from a proxy on
127.0.0.1, as the launcher's loopback gateway is deployed), so the per-address limits are its own."""
from __future__ import annotations

import dataclasses
import json
import threading
import uuid

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from bot.launcher import Stack
from ledger.notices import notice

from tests.e2e.chat import bearer, borrower_link
from tests.stack import _free_port

LONG_CONVERSATION_CLOSING = notice("zh", "long_conversation")

pytestmark = pytest.mark.e2e

MESSAGES_PER_CONVERSATION = 5
MAX_TURNS = 4
MAX_SOCKETS = 3
LOW_LIMITS = {
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CLIENT": "30/minute",
    "COLLECTIONS_GATEWAY_MESSAGES_PER_CONVERSATION": f"{MESSAGES_PER_CONVERSATION}/minute",
    "COLLECTIONS_GATEWAY_OPENS_PER_CLIENT": "3/minute",
    "COLLECTIONS_GATEWAY_MAX_SOCKETS_PER_CLIENT": str(MAX_SOCKETS),
    "COLLECTIONS_GATEWAY_MAX_TURNS_PER_CONVERSATION": str(MAX_TURNS),
    "COLLECTIONS_GATEWAY_WS_MAX_MESSAGE_BYTES": "65536",
}
TIMEOUT = 60


@pytest.fixture(scope="module")
def limited(stack, tmp_path_factory) -> Stack:
    """A second gateway on the suite's services, with the low limits above."""
    config = dataclasses.replace(stack.config, gateway_port=_free_port(), log_dir=tmp_path_factory.mktemp("limited"),
                                 extra_env={**stack.config.extra_env, **LOW_LIMITS})
    gateway = Stack(config)
    gateway.start_gateway()
    gateway.wait_until_ready(("gateway",))
    yield gateway
    gateway.stop()


def _address() -> str:
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


def _socket(gateway: Stack, query: str, address: str):
    return connect(gateway.gateway_url.replace("http://", "ws://") + f"/ws/chat?{query}", open_timeout=TIMEOUT,
                   additional_headers={"X-Forwarded-For": address}, max_size=2**20)


def _chat(gateway: Stack, borrower_id: str, address: str):
    """A /ws/chat socket past its session frame and opening turn."""
    socket = _socket(gateway, f"borrower_link={borrower_link(borrower_id)}", address)
    assert json.loads(socket.recv(timeout=TIMEOUT))["type"] == "session"
    _frames_until_turn_complete(socket)
    return socket


def _frames_until_turn_complete(socket) -> list[dict]:
    frames = []
    while not frames or frames[-1]["type"] != "turn_complete":
        frames.append(json.loads(socket.recv(timeout=TIMEOUT)))
    return frames


def test_a_rest_flood_is_refused_with_429_while_another_borrowers_turn_completes(limited, borrowers):
    flooder, _ = borrowers.take()
    quiet, _ = borrowers.take()
    results: list[httpx.Response] = []
    with httpx.Client(base_url=limited.gateway_url, timeout=TIMEOUT, headers={"X-Forwarded-For": _address()}) as http:
        opened = http.post("/api/conversations", json={"borrower_link": borrower_link(flooder.borrower_id)}).json()
        conversation_id, secret = opened["conversation_id"], opened["secret"]

        def flood() -> None:
            for number in range(30):
                results.append(http.post(f"/api/conversations/{conversation_id}/messages", json={"text": f"第{number}句"},
                                         headers=bearer(secret)))

        flooding = threading.Thread(target=flood)
        flooding.start()
        with _chat(limited, quiet.borrower_id, _address()) as socket:
            socket.send(json.dumps({"type": "user", "text": "对，是我"}, ensure_ascii=False))
            quiet_turn = _frames_until_turn_complete(socket)
        flooding.join(TIMEOUT)
        transcript = http.get(f"/api/conversations/{conversation_id}", headers=bearer(secret)).json()["transcript"]
    assert any("后四位" in frame.get("text", "") for frame in quiet_turn), quiet_turn

    answered = [response for response in results if response.status_code == 200]
    refused = [response for response in results if response.status_code == 429]
    assert len(answered) + len(refused) == len(results) == 30, [r.status_code for r in results]
    assert len(answered) == MESSAGES_PER_CONVERSATION
    for response in refused:
        assert response.json()["error"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 60 and response.json()["retry_after"] > 0
    said = [entry["text"] for entry in transcript if entry["speaker"] == "borrower"]
    assert said == [f"第{number}句" for number in range(MESSAGES_PER_CONVERSATION)]  # refused ones were never taken


def test_every_frame_of_a_websocket_flood_is_answered_or_refused_and_a_long_chat_closes_politely(limited, borrowers):
    borrower, _ = borrowers.take()
    sent = 12
    with _chat(limited, borrower.borrower_id, _address()) as socket:
        for number in range(sent):  # all at once, without waiting for replies
            socket.send(json.dumps({"type": "user", "text": f"第{number}句"}, ensure_ascii=False))
        turns, refusals = [], []
        while len(turns) + len(refusals) < sent:
            frame = json.loads(socket.recv(timeout=TIMEOUT))
            if frame["type"] == "error":
                assert frame["error"] == "rate_limited" and frame["retry_after"] >= 1, frame
                refusals.append(frame)
            elif frame["type"] == "turn_complete":
                turns.append(frame)
            else:
                assert frame["type"] == "bot", frame
                last_bot_text = frame["text"]
    assert len(turns) == MESSAGES_PER_CONVERSATION and len(refusals) == sent - MESSAGES_PER_CONVERSATION
    # The fifth turn is past the cap of four: the conversation closed with the polite words.
    assert turns[-1]["ended"] and not any(turn["ended"] for turn in turns[:-1])
    assert last_bot_text == LONG_CONVERSATION_CLOSING


def test_an_oversized_websocket_frame_closes_the_socket_with_1009_and_the_gateway_stays_up(limited, borrowers):
    borrower, _ = borrowers.take()
    with _chat(limited, borrower.borrower_id, _address()) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.send("x" * 8 * 2**20)  # 8 MB, refused by its header: the server never reads the payload
            socket.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert httpx.get(f"{limited.gateway_url}/health", timeout=TIMEOUT).json()["status"] == "ok"
    with _chat(limited, borrower.borrower_id, _address()):
        pass  # a new chat opens as before


def test_sockets_from_one_address_are_capped_and_the_next_is_told_why(limited, borrowers):
    address = _address()
    opened = []
    try:
        for _ in range(MAX_SOCKETS):
            borrower, _ = borrowers.take()
            opened.append(_socket(limited, f"borrower_link={borrower_link(borrower.borrower_id)}", address))
            assert json.loads(opened[-1].recv(timeout=TIMEOUT))["type"] == "session"
        with _socket(limited, f"borrower_link={borrower_link('B000001')}", address) as extra:
            assert json.loads(extra.recv(timeout=TIMEOUT)) == {"type": "error", "error": "too_many_connections"}
            with pytest.raises(ConnectionClosed) as closed:
                extra.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 1013  # try again later
    finally:
        for socket in opened:
            socket.close()


def test_opens_from_one_address_are_limited_over_rest(limited):
    with httpx.Client(base_url=limited.gateway_url, timeout=TIMEOUT, headers={"X-Forwarded-For": _address()}) as http:
        statuses = [http.post("/api/conversations", json={"borrower_link": borrower_link("B000001")}).status_code
                    for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_browser_calls_from_one_address_are_limited_and_the_next_is_told_why(limited, borrowers):
    address, calls = _address(), []
    url = limited.gateway_url.replace("http://", "ws://") + "/voice/browser?borrower_link="
    try:
        for _ in range(3):  # COLLECTIONS_GATEWAY_OPENS_PER_CLIENT
            borrower, _ = borrowers.take()
            calls.append(connect(url + borrower_link(borrower.borrower_id), open_timeout=TIMEOUT,
                                 additional_headers={"X-Forwarded-For": address}, max_size=2**22))
            while not isinstance(first := calls[-1].recv(timeout=TIMEOUT), str):
                pass  # audio; the call's first text frame shows it was put through
            assert json.loads(first)["type"] != "error", first
        with connect(url + borrower_link("B000001"), open_timeout=TIMEOUT,
                     additional_headers={"X-Forwarded-For": address}) as extra:
            refused = json.loads(extra.recv(timeout=TIMEOUT))
            with pytest.raises(ConnectionClosed) as closed:
                extra.recv(timeout=TIMEOUT)
        assert refused["type"] == "error" and refused["error"] == "rate_limited"
        assert closed.value.rcvd.code == 1013
    finally:
        for call in calls:
            call.close()


def test_a_body_over_the_cap_is_refused_with_413_unread(limited):
    response = httpx.post(f"{limited.gateway_url}/api/conversations", content=b"{" + b" " * 100_000 + b"}",
                          headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert response.status_code == 413 and response.json() == {"error": "payload_too_large"}

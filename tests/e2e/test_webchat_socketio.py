"""The rasa-webchat widget's Socket.IO protocol against the real stack: the widget opens a session,
the bot greets, and a verified borrower hears the balance, all as bot_uttered events."""
from __future__ import annotations

import queue

import pytest
import socketio

pytestmark = pytest.mark.e2e


def test_webchat_widget_protocol_holds_a_real_conversation(stack, borrowers):
    from actions.formatting import yuan

    borrower, account = borrowers.take()
    events: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("session_confirm", lambda data: events.put(("session_confirm", data)))
    client.on("bot_uttered", lambda data: events.put(("bot_uttered", data)))
    client.on("error", lambda data: events.put(("error", data)))
    client.connect(stack.gateway_url, socketio_path="socket.io", wait_timeout=30)
    try:
        client.emit("session_request", {"session_id": None})
        kind, session_id = events.get(timeout=30)
        assert kind == "session_confirm" and session_id

        def say(message: dict, expect: str) -> str:
            client.emit("user_uttered", {**message, "customData": {"borrower_id": borrower.borrower_id},
                                         "session_id": session_id})
            heard = ""
            while expect not in heard:
                kind, data = events.get(timeout=60)
                assert kind == "bot_uttered", (kind, data)
                heard += data["text"]
            return heard

        say({}, "本人吗")  # the widget's init message opens the conversation
        say({"message": "对，是我"}, "后四位")
        balance = say({"message": borrower.id_last4}, "逾期")
        assert yuan(account.balance_cents) in balance
    finally:
        client.disconnect()

"""The rasa-webchat widget's side of the gateway's Socket.IO channel, for tests: the real python-socketio
client doing what rasa-webchat 1.x does on the wire (session_request, then user_uttered with customData)."""
from __future__ import annotations

import queue
from typing import Any

import socketio

from tests.e2e.chat import borrower_link

EVENT_TIMEOUT_SECONDS = 60


class Widget:
    def __init__(self, gateway_url: str) -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        for name in ("session_confirm", "bot_uttered", "error"):
            self.sio.on(name, lambda *args, _name=name: self.events.put((_name, args[0] if args else None)))
        self.sio.connect(gateway_url, socketio_path="socket.io", wait_timeout=30)
        self.session_id: str | None = None

    def request_session(self, session_id: Any = None) -> str:
        """What the widget does on connecting: presents the session id it stored (None on a first visit)."""
        self.sio.emit("session_request", {"session_id": session_id})
        kind, confirmed = self.next()
        assert kind == "session_confirm", (kind, confirmed)
        self.session_id = confirmed
        return confirmed

    def utter(self, message: str | None, custom_data: dict | None = None) -> None:
        payload: dict[str, Any] = {"session_id": self.session_id, "customData": custom_data or {}}
        if message is not None:
            payload["message"] = message
        self.sio.emit("user_uttered", payload)

    def open(self, borrower_id: str, expect: str = "本人吗") -> str:
        """A new session whose first message (the widget's init) opens the borrower's conversation."""
        self.request_session(None)
        self.utter("/start", {"borrower_link": borrower_link(borrower_id)})
        return self.hear(expect)

    def say(self, text: str, expect: str) -> str:
        self.utter(text)
        return self.hear(expect)

    def next(self, timeout: float = EVENT_TIMEOUT_SECONDS) -> tuple[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no event from the gateway") from None

    def hear(self, expect: str) -> str:
        """bot_uttered texts, joined, until one contains `expect`."""
        heard = ""
        while expect not in heard:
            kind, data = self.next()
            assert kind == "bot_uttered", (kind, data)
            heard += data["text"]
        return heard

    def close(self) -> None:
        self.sio.disconnect()

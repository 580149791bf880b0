"""A borrower's side of the gateway WebSocket, for tests."""
from __future__ import annotations

import json
import re

from websockets.sync.client import connect

TURN_TIMEOUT_SECONDS = 60

# Anything that would tell a third party about a debt: money, or words only a debt conversation uses.
_DEBT_DETAIL = re.compile(r"\d[\d,]*(\.\d+)?\s*元|欠款|应还|逾期|本金|利息|罚息|分期|到期日")


def discloses_debt(text: str) -> bool:
    return bool(_DEBT_DETAIL.search(text))


class GatewayError(RuntimeError):
    pass


class Chat:
    """Opens a conversation for `borrower_id` and records every bot message it hears."""

    def __init__(self, gateway_url: str, borrower_id: str | None = None, conversation_id: str | None = None) -> None:
        query = f"conversation_id={conversation_id}" if conversation_id else f"borrower_id={borrower_id}"
        self.socket = connect(gateway_url.replace("http://", "ws://") + f"/ws/chat?{query}", open_timeout=30,
                              max_size=2**20)
        session = self._frame()
        if session["type"] != "session":
            raise GatewayError(session)
        self.conversation_id: str = session["conversation_id"]
        self.heard: list[str] = []
        self.pushed: list[dict] = []  # {"speaker", "text"} sent outside turns (agents, handoff notices)
        self._pushes_read = 0
        self.ended = False
        self.opening = "" if conversation_id else self._collect_turn()

    def _frame(self) -> dict:
        return json.loads(self.socket.recv(timeout=TURN_TIMEOUT_SECONDS))

    def _collect_turn(self) -> str:
        texts = []
        while True:
            frame = self._frame()
            if frame["type"] == "bot":
                texts.append(frame["text"])
            elif frame["type"] == "push":
                self.pushed.append(frame)
            elif frame["type"] == "turn_complete":
                # More than one re-prompt in a single turn means the dialogue looped on fallbacks.
                assert sum("没有听明白" in text for text in texts) <= 1, texts
                self.ended = frame["ended"]
                self.heard += texts
                return "\n".join(texts)
            else:
                raise GatewayError(frame)

    def say(self, text: str) -> str:
        self.socket.send(json.dumps({"type": "user", "text": text}, ensure_ascii=False))
        return self._collect_turn()

    def next_push(self, timeout: float = TURN_TIMEOUT_SECONDS) -> dict:
        """The next pushed message not yet returned, waiting for it if need be."""
        while self._pushes_read >= len(self.pushed):
            frame = json.loads(self.socket.recv(timeout=timeout))
            if frame["type"] != "push":
                raise GatewayError(frame)
            self.pushed.append(frame)
        self._pushes_read += 1
        return self.pushed[self._pushes_read - 1]

    def send_raw(self, raw: str) -> dict:
        """Sends a frame as-is and returns the gateway's first answer to it."""
        self.socket.send(raw)
        return self._frame()

    def close(self) -> None:
        self.socket.close()

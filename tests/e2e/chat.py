"""A borrower's side of the gateway, for tests: the WebSocket chat (Chat) and the REST API (RestChat), each
opened with a signed borrower link as the lender sends it, then using the conversation's secret."""
from __future__ import annotations

import json
import re
import secrets
from urllib.parse import urlencode

import httpx
from websockets.sync.client import connect

from bot.links import BorrowerLinks

TURN_TIMEOUT_SECONDS = 60
# Every gateway the tests start signs links with this key (its environment, COLLECTIONS_GATEWAY_LINK_KEY),
# so a test issues a borrower's link as the lender would; and takes calls signed with this carrier auth
# token, so the fake carrier (tests/e2e/phone.py) signs its requests as Twilio would.
LINK_KEY = secrets.token_hex(32)
CARRIER_AUTH_TOKEN = secrets.token_hex(16)
ARRIVAL_SECRETS_ENV = {"COLLECTIONS_GATEWAY_LINK_KEY": LINK_KEY, "COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN": CARRIER_AUTH_TOKEN}

# Anything that would tell a third party about a debt: money, or words only a debt conversation uses.
_DEBT_DETAIL = re.compile(
    r"\d[\d,]*(\.\d+)?\s*(元|美元)|欠款|应还|逾期|本金|利息|罚息|分期|到期日"
    r"|\$\s?\d|\b(balance|past due|owe[sd]?|debt|principal|interest|late fees?|payment plan|instal?lments?)\b",
    re.IGNORECASE)


def discloses_debt(text: str) -> bool:
    return bool(_DEBT_DETAIL.search(text))


def borrower_link(borrower_id: str, hours: float = 1.0) -> str:
    """The link the lender would send this borrower (negative hours: one that has expired)."""
    return BorrowerLinks(LINK_KEY.encode("utf-8")).issue(borrower_id, hours)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class GatewayError(RuntimeError):
    pass


class Chat:
    """Opens a conversation with `borrower_id`'s link (or the `link` given), or resumes `conversation_id`
    with its `secret`, and records every bot message it hears."""

    def __init__(self, gateway_url: str, borrower_id: str | None = None, conversation_id: str | None = None,
                 *, secret: str | None = None, link: str | None = None) -> None:
        if conversation_id:
            query, headers = {"conversation_id": conversation_id}, bearer(secret) if secret else {}
        else:
            query, headers = {"borrower_link": link or borrower_link(borrower_id)}, {}
        self.socket = connect(gateway_url.replace("http://", "ws://") + "/ws/chat?" + urlencode(query),
                              open_timeout=30, max_size=2**20, additional_headers=headers)
        self.gateway_url = gateway_url
        session = self._frame()
        if session["type"] != "session":
            self.socket.close()
            raise GatewayError(session)
        self.conversation_id: str = session["conversation_id"]
        self.secret: str | None = session.get("secret", secret)  # sent once, when the conversation opens
        self.heard: list[str] = []
        self.pushed: list[dict] = []  # {"speaker", "text"} sent outside turns (agents, handoff notices)
        self._pushes_read = 0
        self.ended = False
        self.opening = "" if conversation_id else self._collect_turn()

    def transcript(self) -> list[dict]:
        """The borrower's own transcript, as the REST API gives it to the conversation's secret."""
        response = httpx.get(f"{self.gateway_url}/api/conversations/{self.conversation_id}",
                             headers=bearer(self.secret or ""), timeout=30)
        response.raise_for_status()
        return response.json()["transcript"]

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


class RestChat:
    """A conversation over the REST API: opened with the borrower's link, then every call with its secret."""

    def __init__(self, gateway_url: str, borrower_id: str, timeout: float = 60) -> None:
        self.http = httpx.Client(base_url=gateway_url, timeout=timeout)
        opened = self.http.post("/api/conversations", json={"borrower_link": borrower_link(borrower_id)})
        opened.raise_for_status()
        self.conversation_id: str = opened.json()["conversation_id"]
        self.opening = "\n".join(message["text"] for message in opened.json()["messages"])
        self.http.headers.update(bearer(opened.json()["secret"]))
        self.ended = False

    def post(self, text: str) -> httpx.Response:
        return self.http.post(f"/api/conversations/{self.conversation_id}/messages", json={"text": text})

    def say(self, text: str) -> str:
        turn = self.post(text)
        turn.raise_for_status()
        self.ended = turn.json()["ended"]
        return "\n".join(message["text"] for message in turn.json()["messages"])

    def transcript(self) -> list[dict]:
        response = self.http.get(f"/api/conversations/{self.conversation_id}")
        response.raise_for_status()
        return response.json()["transcript"]

    def reconnect(self) -> None:
        """A new HTTP connection (after a gateway restart) presenting the same secret."""
        old = self.http
        old.close()
        self.http = httpx.Client(base_url=old.base_url, timeout=old.timeout, headers=old.headers)

    def close(self) -> None:
        self.http.close()

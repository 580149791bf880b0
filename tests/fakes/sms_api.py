"""A fake of Twilio's Messages API: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, basic auth with the
account SID and auth token, form fields To, From (or MessagingServiceSid) and Body; 201 with the message's sid,
or Twilio's error JSON. Runs uvicorn in a thread on a free 127.0.0.1 port and records every request.

    with FakeTwilioSms("AC123", "token") as fake:
        ... COLLECTIONS_MESSENGER_SMS_API_BASE = fake.base_url ...
        fake.answer_next(500)                     # the next send gets a 500
        fake.unsubscribe("+8613800015210")        # that number texted STOP: sends to it get Twilio's 400, code 21610
        fake.text_us(webhook_url, "+8613800015210", "STOP")   # an incoming text, posted and signed as Twilio does
"""
from __future__ import annotations

import base64
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI, Request
from twilio.request_validator import RequestValidator
from fastapi.responses import JSONResponse

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TWILIO_STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
TWILIO_START_WORDS = {"START", "YES", "UNSTOP"}


@dataclass(frozen=True)
class RecordedRequest:
    account_sid: str
    authorised: bool
    form: dict[str, str]


class FakeTwilioSms:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[RecordedRequest] = []   # every POST, in order, accepted or not
        self.delivered: list[dict[str, str]] = []   # forms of the messages accepted (201)
        self._scripted: list[int] = []              # status codes to answer the next sends with
        self._unsubscribed: set[str] = set()        # numbers that texted STOP to the sender (Twilio keeps them)
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(self._app(), log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._listener]}, daemon=True)

    def answer_next(self, *status_codes: int) -> None:
        with self._lock:
            self._scripted.extend(status_codes)

    def unsubscribe(self, number: str) -> None:
        with self._lock:
            self._unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        with self._lock:
            self._unsubscribed.discard(number)

    def text_us(self, webhook_url: str, sender: str, body: str, to: str = "+15005550006",
                signature: str | None = None) -> httpx.Response:
        """A borrower's text to our sender, as Twilio posts it to the incoming-message webhook: form-encoded and
        signed with the account's auth token (or `signature`, to forge one)."""
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": self.account_sid, "From": sender, "To": to,
                "Body": body, "NumMedia": "0"}
        if signature is None:
            # A text Twilio received: its own opt-out handling sees it first (its keywords; it knows no 退订).
            word = body.strip().upper()
            if word in TWILIO_STOP_WORDS:
                self.unsubscribe(sender)
            elif word in TWILIO_START_WORDS:
                self.resubscribe(sender)
            signature = RequestValidator(self.auth_token).compute_signature(webhook_url, form)
        return httpx.post(webhook_url, data=form, headers={"X-Twilio-Signature": signature}, timeout=30)

    def _authorised(self, request: Request, account_sid: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == self.account_sid == account_sid and password == self.auth_token

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> JSONResponse:
            form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
            authorised = self._authorised(request, account_sid)
            with self._lock:
                self.requests.append(RecordedRequest(account_sid, authorised, form))
                scripted = self._scripted.pop(0) if self._scripted else None
                if not authorised:
                    return _error(401, 20003, "Authenticate")
                if scripted is not None:
                    return _error(scripted, 20500 if scripted >= 500 else 21211, "scripted failure")
                if form.get("To") in self._unsubscribed:
                    return _error(400, 21610, "Attempt to send to unsubscribed recipient")
                if not _E164.match(form.get("To", "")):
                    return _error(400, 21211, "The 'To' number is not a valid phone number.")
                if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
                    return _error(400, 21602, "Message body and a sender are required.")
                sid = f"SM{uuid.uuid4().hex}"
                self.delivered.append(form)
            return JSONResponse({"sid": sid, "status": "queued", "to": form["To"], "body": form["Body"]}, 201)

        return app

    def __enter__(self) -> "FakeTwilioSms":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio SMS API did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._listener.close()


def _error(status: int, code: int, message: str) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                            "status": status}
    return JSONResponse(body, status)

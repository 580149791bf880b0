"""A fake Twilio for outbound calls, at the HTTP boundary: the REST API's Calls.create, then the call itself.

Runs uvicorn in a thread on a free 127.0.0.1 port. Each number dialled behaves as the test scripted it:

    carrier = FakeTwilio(account_sid, auth_token, behaviours={"+8613800015210": Answer(conversation)})
    with carrier:
        ... TwilioDialer(api_base=carrier.base_url).place_call(...) ...
        call = carrier.finished(call_sid)            # re-raises what went wrong inside the call

Like Twilio, it answers Calls.create at once (201, the call's sid; 401 without the account's basic auth, 400
for a request Twilio would refuse) and then plays the call out: status callbacks in Twilio's order (initiated,
ringing, answered, completed — only those the request subscribed to — or busy / no-answer / failed), and on an
answer it asks the call's Url what to do, with AnsweredBy as answering-machine detection reports it. A <Connect>
<Stream> answer opens the media stream (tests/e2e/phone.py's FakeCarrier) and runs the test's `conversation` on
it; a <Say> is heard and kept. Every request to the gateway carries X-Twilio-Signature.

It also updates a live call as Twilio's Calls/{CallSid}.json does (a handoff's transfer): a call it placed, or an
inbound call whose test carrier was `attach`ed. The new TwiML is kept in `updates` and, like Twilio, the call's
media stream is stopped ("stop", then the socket closes). `refuse_updates` makes it answer 500 instead.
"""
from __future__ import annotations

import asyncio
import base64
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import parse_qs
from xml.etree import ElementTree

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator

from tests.e2e.phone import FakeCarrier
from tests.fakes.wechat_api import _free_port

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
INVALID_NUMBER = "+15005550001"  # Twilio's test number for "not a valid phone number" (error 21211)
FINAL_STATUS_EVENT = "completed"  # Twilio sends every final status (busy, no-answer, …) under this event
START_DEADLINE_SECONDS = 10


@dataclass(frozen=True)
class Answer:
    """A person answers; `conversation(carrier)` is what they do on the line (the call ends when it returns).
    `borrower_id`: for the carrier's view of the conversation's transcript (the gateway learns it from the ticket)."""
    conversation: Callable[[FakeCarrier], Awaitable[None]]
    borrower_id: str
    answered_by: str = "human"


@dataclass(frozen=True)
class Machine:
    answered_by: str = "machine_end_beep"
    greeting_seconds: int = 12


@dataclass(frozen=True)
class NoAnswer:
    final_status: str = "no-answer"  # or busy, failed


@dataclass(frozen=True)
class CallUpdate:
    call_sid: str
    twiml: ElementTree.Element

    def dialled(self) -> list[tuple[str, str]]:
        """(noun, address) of each <Dial> target: ("Number", "+86…"), ("Sip", "sip:…"), ("Queue", name)…"""
        return [(target.tag, (target.text or "").strip()) for target in self.twiml.findall("./Dial/*")]

    def verbs(self) -> list[str]:
        return [verb.tag for verb in self.twiml]

    def dial_action(self) -> str | None:
        """Where Twilio asks what next once the <Dial> has ended."""
        dial = self.twiml.find("Dial")
        return dial.get("action") if dial is not None else None


@dataclass
class PlacedCall:
    sid: str
    request: dict[str, list[str]]
    statuses: list[str] = field(default_factory=list)      # CallStatus of each status callback sent
    twiml: ElementTree.Element | None = None               # the gateway's answer to the call's Url
    said: list[str] = field(default_factory=list)          # <Say> texts heard
    callback_answers: list[int] = field(default_factory=list)  # HTTP status of each status callback
    carrier: FakeCarrier | None = None
    loop: asyncio.AbstractEventLoop | None = None  # the fake's own, where the call's stream runs
    failure: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str, gateway_redis_url: str,
                 behaviours: dict[str, Answer | Machine | NoAnswer] | None = None, port: int | None = None) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.behaviours = dict(behaviours or {})
        self.port = port or _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.calls: dict[str, PlacedCall] = {}
        self.refused: list[int] = []  # HTTP status of each refused Calls.create
        self.updates: list[CallUpdate] = []  # each live call update accepted, in order
        self.refuse_updates = False
        self.updated = threading.Event()  # set on each accepted update
        self._attached: dict[str, tuple[FakeCarrier, asyncio.AbstractEventLoop]] = {}
        self._redis_url = gateway_redis_url  # for FakeCarrier's view of the transcript
        self._validator = RequestValidator(auth_token)
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._server = uvicorn.Server(uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    # ---- the REST API -----------------------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{account_sid}/Calls.json")
        async def create_call(account_sid: str, request: Request) -> JSONResponse:
            if account_sid != self.account_sid or not self._authorised(request.headers.get("authorization", "")):
                return self._refuse(401, 20003, "Authenticate")
            fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
            one = {key: values[-1] for key, values in fields.items()}
            if not E164.match(one.get("To", "")) or one.get("To") == INVALID_NUMBER:
                return self._refuse(400, 21211, f"The 'To' number {one.get('To', '')} is not a valid phone number.")
            if not one.get("From") or not one.get("Url", "").startswith("http"):
                return self._refuse(400, 21205, "Url and From are required.")
            sid = "CA" + secrets.token_hex(16)
            call = PlacedCall(sid, fields)
            with self._lock:
                self.calls[sid] = call
            task = asyncio.create_task(self._play(call, self.behaviours.get(one["To"], NoAnswer())))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return JSONResponse({"sid": sid, "status": "queued", "to": one["To"], "from": one["From"]},
                                status_code=201)

        @app.post("/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json")
        async def update_call(account_sid: str, call_sid: str, request: Request) -> JSONResponse:
            if account_sid != self.account_sid or not self._authorised(request.headers.get("authorization", "")):
                return self._refuse(401, 20003, "Authenticate")
            stream = self._live_stream(call_sid)
            if stream is None:
                return self._refuse(404, 20404, f"The requested resource Calls/{call_sid}.json was not found")
            if self.refuse_updates:
                return self._refuse(500, 20500, "Internal Server Error")
            fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
            try:
                twiml = ElementTree.fromstring(fields["Twiml"][-1])
            except (KeyError, ElementTree.ParseError):
                return self._refuse(400, 12100, "Document parse failure")
            with self._lock:
                self.updates.append(CallUpdate(call_sid, twiml))
            self.updated.set()
            carrier, loop = stream
            # Twilio ends the <Connect><Stream> of a call given new TwiML; the stream's socket lives on its test's loop.
            if loop is asyncio.get_running_loop():
                await carrier.stop()
            else:
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(carrier.stop(), loop))
            return JSONResponse({"sid": call_sid, "status": "in-progress"})

        return app

    def _live_stream(self, call_sid: str) -> tuple[FakeCarrier, asyncio.AbstractEventLoop] | None:
        with self._lock:
            if call_sid in self._attached:
                return self._attached[call_sid]
            placed = self.calls.get(call_sid)
        if placed is not None and placed.carrier is not None and not placed.carrier.closed.is_set():
            return placed.carrier, placed.loop
        return None

    async def end_dial(self, update: CallUpdate, dial_status: str) -> ElementTree.Element:
        """The transferred call's <Dial> ends (no-answer, busy, failed, or completed after a conversation): Twilio
        asks the Dial's action URL what to do next, signed, and follows the answer."""
        form = {"AccountSid": self.account_sid, "CallSid": update.call_sid, "CallStatus": "in-progress",
                "DialCallStatus": dial_status, "DialCallDuration": "0", "ApiVersion": "2010-04-01"}
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await self._signed_post(client, update.dial_action(), form)
        answer.raise_for_status()
        assert answer.headers["content-type"].startswith("application/xml"), answer.headers
        return ElementTree.fromstring(answer.text)

    def attach(self, carrier: FakeCarrier) -> None:
        """An inbound call the test rings (tests/e2e/phone.py): its live call may be updated here too. Called on
        the event loop the carrier's socket runs on."""
        with self._lock:
            self._attached[carrier.call_sid] = (carrier, asyncio.get_running_loop())

    def _authorised(self, header: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return secrets.compare_digest(header, expected)

    def _refuse(self, status: int, code: int, message: str) -> JSONResponse:
        self.refused.append(status)
        return JSONResponse({"code": code, "message": message, "status": status}, status_code=status)

    # ---- the call -----------------------------------------------------------------------------------

    async def _play(self, call: PlacedCall, behaviour: Answer | Machine | NoAnswer) -> None:
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                await self._status(client, call, "initiated", "initiated")
                if isinstance(behaviour, NoAnswer):
                    if behaviour.final_status == "no-answer":
                        await self._status(client, call, "ringing", "ringing")
                    await self._status(client, call, FINAL_STATUS_EVENT, behaviour.final_status, CallDuration="0")
                    return
                await self._status(client, call, "ringing", "ringing")
                answered_by = behaviour.answered_by
                await self._status(client, call, "answered", "in-progress", AnsweredBy=answered_by)
                answered_at = time.monotonic()
                call.twiml = await self._ask(client, call, answered_by)
                call.said = [say.text or "" for say in call.twiml.findall("Say")]
                if isinstance(behaviour, Answer) and call.twiml.find("./Connect/Stream") is not None:
                    await self._converse(call, behaviour)
                seconds = int(time.monotonic() - answered_at) + (
                    behaviour.greeting_seconds if isinstance(behaviour, Machine) else 0)
                await self._status(client, call, FINAL_STATUS_EVENT, "completed", AnsweredBy=answered_by,
                                   CallDuration=str(seconds))
        except BaseException as error:  # the test learns of it in finished()
            call.failure = error
            raise
        finally:
            call.done.set()

    def _base_form(self, call: PlacedCall) -> dict[str, str]:
        return {"AccountSid": self.account_sid, "CallSid": call.sid, "From": call.request["From"][-1],
                "To": call.request["To"][-1], "Direction": "outbound-api", "ApiVersion": "2010-04-01"}

    async def _signed_post(self, client: httpx.AsyncClient, url: str, form: dict[str, str]) -> httpx.Response:
        signature = self._validator.compute_signature(url, form)
        return await client.post(url, data=form, headers={"X-Twilio-Signature": signature})

    async def _status(self, client: httpx.AsyncClient, call: PlacedCall, event: str, status: str, **extra: str) -> None:
        if event not in call.request.get("StatusCallbackEvent", []) and event != FINAL_STATUS_EVENT:
            return
        url = call.request.get("StatusCallback", [None])[-1]
        if url is None:
            return
        form = {**self._base_form(call), "CallStatus": status, "CallbackSource": "call-progress-events",
                "SequenceNumber": str(len(call.statuses)), "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                **extra}
        call.statuses.append(status)
        call.callback_answers.append((await self._signed_post(client, url, form)).status_code)

    async def _ask(self, client: httpx.AsyncClient, call: PlacedCall, answered_by: str) -> ElementTree.Element:
        form = {**self._base_form(call), "CallStatus": "in-progress", "AnsweredBy": answered_by}
        answer = await self._signed_post(client, call.request["Url"][-1], form)
        answer.raise_for_status()
        assert answer.headers["content-type"].startswith("application/xml"), answer.headers
        return ElementTree.fromstring(answer.text)

    async def _converse(self, call: PlacedCall, behaviour: Answer) -> None:
        """The media stream, as Twilio opens it for <Connect><Stream>; the borrower's side is the test's."""
        gateway_url = call.request["Url"][-1].split("/voice/", 1)[0]
        carrier = FakeCarrier(gateway_url, behaviour.borrower_id, call.request["To"][-1], redis_url=self._redis_url,
                              answer=call.twiml, call_sid=call.sid)
        call.carrier, call.loop = carrier, asyncio.get_running_loop()
        async with carrier:
            await behaviour.conversation(carrier)
            await carrier.stop()  # the person hangs up: Twilio ends the stream

    # ---- for tests ----------------------------------------------------------------------------------

    def finished(self, call_sid: str, timeout: float = 120.0) -> PlacedCall:
        """The call once it is over and every status callback was sent; raises what failed inside it."""
        call = self.calls[call_sid]
        if not call.done.wait(timeout):
            raise TimeoutError(f"call {call_sid} did not end")
        if call.failure is not None:
            raise AssertionError(f"the fake call {call_sid} failed") from call.failure
        return call

    def __enter__(self) -> "FakeTwilio":
        self._thread.start()
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Twilio did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

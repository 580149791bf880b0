"""The dialer end to end without audio: TwilioDialer → a fake Twilio at the HTTP boundary → the gateway's outbound
routes (a real uvicorn server with voice_router) → a SQLite ledger and a real Redis (contact caps, call slots).
The answered call with a conversation runs on the whole stack: tests/e2e/test_outbound_call.py."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import date, datetime
from types import SimpleNamespace
from xml.etree import ElementTree

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from bot.audit import AuditTrail
from bot.channels.outbound_call import OutboundCalls, call_outcome
from bot.channels.phone_arrival import CallTokens, CarrierSignatures, PhoneArrival
from bot.channels.voice import voice_router
from bot.redis_connection import connect
from campaigns.call_slots import CallSlots
from campaigns.dial_tickets import DialTicket, DialTickets
from campaigns.dialer import CallRequest, DialerBusy, DialerError
from campaigns.twilio_dialer import TwilioDialer
from compliance_filters.contact_policy import ContactPolicy, load_config
from configuration.settings import DialerSettings, VoiceSettings
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import AuditRecord, Borrower
from ledger.repository import Ledger
from ledger.seed import seed_demo_portfolio
from tests.fakes.twilio_carrier import INVALID_NUMBER, FakeTwilio, Machine, NoAnswer
from tests.fakes.wechat_api import _free_port
from voice.call import CallParty

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "unit-carrier-token"
LINK_KEY = b"l" * 32
NOW = datetime.fromisoformat("2026-11-23T10:00:00+08:00")
BORROWER = "B000005"
NUMBER_ON_FILE = "138 0005 1234"  # as the lender wrote it
NUMBER = "+8613800051234"  # as the dialer dials it
TODAY = "2026-11-23"
DEADLINE_SECONDS = 30
SLOTS_KEY = "collections:dialer:call-slots"


def _clear(client: redis.Redis) -> None:
    for pattern in ("cp:*", "collections:dialer:*"):
        for key in client.scan_iter(pattern, count=500):
            client.delete(key)


@pytest.fixture
def redis_client(unit_redis_url):
    client = redis.Redis.from_url(unit_redis_url, decode_responses=True)
    _clear(client)
    yield client
    _clear(client)
    client.close()


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    create_schema(engine)
    seed_demo_portfolio(make_session_factory(engine), count=8, as_of=date(2026, 11, 23))
    with make_session_factory(engine).begin() as session:
        session.get(Borrower, BORROWER).phone = NUMBER_ON_FILE
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def ledger(sessions):
    return Ledger(sessions)


def _dialer_settings(**changes) -> DialerSettings:
    return DialerSettings(account_sid=ACCOUNT_SID, from_number="+864000000000", **{
        "machine_policy": "leave_message", "max_concurrent_calls": 4, **changes})


def _outbound(ledger, sessions, redis_client, unit_redis_url, settings: DialerSettings) -> OutboundCalls:
    signatures = CarrierSignatures(VoiceSettings(twilio_auth_token=AUTH_TOKEN))
    async_redis = connect(unit_redis_url)
    return OutboundCalls(
        settings, signatures, CallTokens(LINK_KEY, 300), ledger, AuditTrail(sessions, b"a" * 32),
        ContactPolicy(redis.Redis.from_url(unit_redis_url), ledger, load_config()), async_redis,
        CallSlots(async_redis, settings.max_concurrent_calls, settings.max_call_seconds), lambda: NOW,
    ).checked()


class Gateway:
    """The gateway's voice routes, on a real port, over the services an outbound call needs."""

    def __init__(self, outbound: OutboundCalls, ledger: Ledger) -> None:
        app = FastAPI()
        app.include_router(voice_router())
        app.state.services = SimpleNamespace(
            outbound=outbound, dial_tickets=DialTickets(LINK_KEY, 1800),
            phone=PhoneArrival(VoiceSettings(twilio_auth_token=AUTH_TOKEN), LINK_KEY, ledger.borrowers_at_number))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "Gateway":
        self._thread.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not self._server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture
def line(ledger, sessions, redis_client, unit_redis_url):
    """(outbound calls, gateway, fake Twilio, a dialer factory) wired as production wires them."""
    outbound = _outbound(ledger, sessions, redis_client, unit_redis_url, _dialer_settings())
    with Gateway(outbound, ledger) as gateway, FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, unit_redis_url) as twilio:
        def dialer(auth_token: str = AUTH_TOKEN, api_base: str = twilio.base_url, **changes) -> TwilioDialer:
            settings = _dialer_settings(api_base=api_base, **changes)
            return TwilioDialer(settings, auth_token, gateway.url, DialTickets(LINK_KEY, settings.max_call_seconds),
                                CallSlots(connect(unit_redis_url), settings.max_concurrent_calls,
                                          settings.max_call_seconds), httpx.AsyncClient())
        yield SimpleNamespace(outbound=outbound, gateway=gateway, twilio=twilio, dialer=dialer)


def _attempt() -> str:
    return uuid.uuid4().hex


def _request(attempt: str, number: str = NUMBER, script: str = "overdue_gentle") -> CallRequest:
    return CallRequest(attempt, BORROWER, number, script)


def _attempts(ledger, attempt: str) -> list[tuple[str, str]]:
    return [(row.outcome, row.reason) for row in ledger.contact_attempts_for(BORROWER) if row.conversation_id == attempt]


def _unanswered_today(redis_client, number: str = NUMBER) -> int:
    from compliance_filters.contact_policy import _hash_phone
    return int(redis_client.get(f"cp:cn:una:{_hash_phone(number)}:{TODAY}") or 0)


# ---- the request ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"to_number": "13800051234"}, {"to_number": "+86 138 0005 1234"}, {"attempt_id": "short"},
    {"attempt_id": "a" * 65}, {"attempt_id": "a/../../b12345"}, {"script": "threatening"}, {"borrower_id": ""},
])
def test_a_call_request_refuses_what_no_carrier_should_dial(changes):
    fields = {"attempt_id": _attempt(), "borrower_id": BORROWER, "to_number": NUMBER, "script": "reminder", **changes}
    with pytest.raises(ValueError):
        CallRequest(**fields)


# ---- Calls.create --------------------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("final_status, outcome", [("no-answer", "no_answer"), ("busy", "busy"), ("failed", "failed")])
async def test_a_call_nobody_answers_is_recorded_counted_unanswered_and_frees_its_slot(
        line, ledger, redis_client, final_status, outcome):
    line.twilio.behaviours[NUMBER] = NoAnswer(final_status)
    attempt = _attempt()
    placed = await line.dialer().place_call(_request(attempt))
    assert redis_client.zscore(SLOTS_KEY, attempt) is not None  # held while the call rings
    call = await asyncio.to_thread(line.twilio.finished, placed.provider_call_id)
    assert call.statuses[-1] == final_status and set(call.callback_answers) == {200}
    sent = call.request
    assert sent["To"] == [NUMBER] and sent["From"] == ["+864000000000"] and sent["Timeout"] == ["30"]
    assert sent["Url"][0].startswith(f"{line.gateway.url}/voice/twilio/outbound?ticket=")
    assert sent["StatusCallback"][0].startswith(f"{line.gateway.url}/voice/twilio/status?ticket=")
    assert sent["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert sent["MachineDetection"] == ["DetectMessageEnd"]  # leave_message: after the greeting's beep
    recorded = _attempts(ledger, attempt)
    assert [o for o, _ in recorded] == [outcome, "unanswered"], recorded
    assert placed.provider_call_id in recorded[0][1]
    assert _unanswered_today(redis_client) == 1
    assert _unanswered_today(redis_client, NUMBER_ON_FILE) == 1  # the counter the policy reads for the ledger's number
    assert redis_client.zscore(SLOTS_KEY, attempt) is None


@pytest.mark.asyncio
async def test_a_machine_hears_only_the_limited_content_message_which_is_audited(line, ledger, sessions, redis_client):
    line.twilio.behaviours[NUMBER] = Machine()
    attempt = _attempt()
    placed = await line.dialer().place_call(_request(attempt))
    call = await asyncio.to_thread(line.twilio.finished, placed.provider_call_id)
    assert call.said == [DialerSettings().machine_message_text]
    assert call.twiml.find("Connect") is None and call.twiml.find("Hangup") is not None
    assert call.statuses == ["initiated", "ringing", "in-progress", "completed"]
    recorded = _attempts(ledger, attempt)
    assert [o for o, _ in recorded] == ["answering_machine", "unanswered"]
    assert "message left" in recorded[0][1] and "machine_end_beep" in recorded[0][1]
    with sessions() as session:
        audited = session.query(AuditRecord).filter_by(conversation_id=attempt).all()
    assert [(row.speaker, row.text) for row in audited] == [("bot", DialerSettings().machine_message_text)]
    assert _unanswered_today(redis_client) == 1


def test_on_the_hang_up_policy_a_machine_hears_nothing(ledger, sessions, redis_client, unit_redis_url):
    outbound = _outbound(ledger, sessions, redis_client, unit_redis_url, _dialer_settings(machine_policy="hang_up"))
    ticket = DialTicket(BORROWER, _attempt(), "overdue_gentle")
    for answered_by in ("machine_end_beep", "machine_start", "fax"):
        twiml = ElementTree.fromstring(outbound.answer("http://gw/voice/twilio/outbound", {"AnsweredBy": answered_by},
                                                       ticket))
        assert [child.tag for child in twiml] == ["Hangup"], answered_by


def test_a_person_is_streamed_with_a_token_naming_the_borrower_attempt_and_script(
        ledger, sessions, redis_client, unit_redis_url):
    outbound = _outbound(ledger, sessions, redis_client, unit_redis_url, _dialer_settings())
    ticket = DialTicket(BORROWER, _attempt(), "reminder")
    for answered_by in ("human", "unknown", ""):
        twiml = ElementTree.fromstring(outbound.answer("https://gw.example/voice/twilio/outbound?ticket=x",
                                                       {"AnsweredBy": answered_by}, ticket))
        stream = twiml.find("./Connect/Stream")
        assert stream.get("url") == "wss://gw.example/voice/twilio"
        token = stream.find("Parameter[@name='call_token']").get("value")
        assert CallTokens(LINK_KEY, 300).party_of({"call_token": token}) == CallParty(
            BORROWER, attempt_id=ticket.attempt_id, script="reminder")
        assert twiml.find("Say") is None  # the bot speaks first, in the conversation


def test_a_machine_message_the_filter_refuses_stops_the_start(ledger, sessions, redis_client, unit_redis_url):
    with pytest.raises(ValueError, match="MACHINE_MESSAGE_TEXT"):
        _outbound(ledger, sessions, redis_client, unit_redis_url,
                  _dialer_settings(machine_message_text="张伟您好，您在本公司的贷款已逾期，请尽快还款，否则将起诉您。"))


@pytest.mark.asyncio
async def test_provider_refusals_and_outages_are_dialer_errors_and_free_the_slot(line, redis_client):
    attempt = _attempt()
    with pytest.raises(DialerError, match="20003"):
        await line.dialer(auth_token="not-the-token").place_call(_request(attempt))
    assert line.twilio.refused == [401]
    with pytest.raises(DialerError, match="21211"):
        await line.dialer().place_call(_request(attempt, number=INVALID_NUMBER))
    with pytest.raises(DialerError, match="could not be reached"):
        await line.dialer(api_base=f"http://127.0.0.1:{_free_port()}").place_call(_request(attempt))
    assert redis_client.zcard(SLOTS_KEY) == 0 and not line.twilio.calls


# ---- pacing ---------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_no_more_slots_than_the_limit_however_many_workers_race_for_them(unit_redis_url, redis_client):
    clients = [connect(unit_redis_url) for _ in range(4)]  # four processes' worth of connections
    slots = [CallSlots(client, max_calls=3, ttl_seconds=60) for client in clients]
    holders = [f"attempt-{n:04d}" for n in range(40)]
    granted = await asyncio.gather(*(slots[n % 4].acquire(holder) for n, holder in enumerate(holders)))
    assert sum(granted) == 3 and await slots[0].held() == 3
    winners = [holder for holder, won in zip(holders, granted) if won]
    assert await slots[1].acquire(winners[0])  # a holder renews its own slot
    assert not await slots[2].acquire("attempt-late")
    await slots[3].release(winners[0])
    assert await slots[2].acquire("attempt-late") and not await slots[0].acquire("attempt-later")
    for client in clients:
        await client.aclose()


@pytest.mark.asyncio
async def test_a_slot_whose_callback_never_came_lapses(unit_redis_url, redis_client):
    client = connect(unit_redis_url)
    slots = CallSlots(client, max_calls=1, ttl_seconds=1)
    assert await slots.acquire("attempt-lost-callback")
    assert not await slots.acquire("attempt-next")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not await slots.acquire("attempt-next"):  # lapses after its second, on Redis's clock
        assert time.monotonic() < deadline, "the lost call's slot never lapsed"
        await asyncio.sleep(0.05)
    await client.aclose()


@pytest.mark.asyncio
async def test_with_every_slot_taken_place_call_is_busy_and_nothing_is_dialled(line, redis_client):
    dialer = line.dialer(max_concurrent_calls=1)
    line.twilio.behaviours[NUMBER] = NoAnswer()
    redis_client.zadd(SLOTS_KEY, {"another-workers-call": time.time() * 1000 + 60_000})
    with pytest.raises(DialerBusy):
        await dialer.place_call(_request(_attempt()))
    assert not line.twilio.calls


# ---- what the gateway accepts ---------------------------------------------------------------------------

def _ticket_url(gateway_url: str, path: str, ticket: str) -> str:
    return f"{gateway_url}/voice/twilio/{path}?ticket={ticket}"


def _final_form(**changes) -> dict[str, str]:
    return {"CallSid": "CA" + "a" * 32, "CallStatus": "no-answer", "To": NUMBER, "CallDuration": "0", **changes}


@pytest.mark.parametrize("case", ["unsigned", "signed for another form", "no ticket", "forged ticket",
                                  "another use's signature", "malformed sid", "unknown status", "bad duration"])
def test_forged_or_malformed_callbacks_are_refused_and_nothing_is_recorded(line, ledger, redis_client, case):
    attempt = _attempt()
    tickets = DialTickets(LINK_KEY, 1800)
    ticket = tickets.issue(DialTicket(BORROWER, attempt, "overdue_gentle"))
    url, form = _ticket_url(line.gateway.url, "status", ticket), _final_form()
    signer = RequestValidator(AUTH_TOKEN)
    headers = {"X-Twilio-Signature": signer.compute_signature(url, form)}
    expected = 403
    if case == "unsigned":
        headers = {}
    elif case == "signed for another form":
        headers = {"X-Twilio-Signature": signer.compute_signature(url, {**form, "CallStatus": "busy"})}
    elif case == "no ticket":
        url = f"{line.gateway.url}/voice/twilio/status"
        headers = {"X-Twilio-Signature": signer.compute_signature(url, form)}
    elif case == "forged ticket":
        url = _ticket_url(line.gateway.url, "status", ticket[:-4] + "AAAA")
        headers = {"X-Twilio-Signature": signer.compute_signature(url, form)}
    elif case == "another use's signature":  # a call token is no ticket (another salt)
        url = _ticket_url(line.gateway.url, "status", CallTokens(LINK_KEY, 300).issue_outbound(BORROWER, attempt, "overdue_gentle"))
        headers = {"X-Twilio-Signature": signer.compute_signature(url, form)}
    else:
        form = {"malformed sid": _final_form(CallSid="CA'; DROP TABLE contact_attempts;--"),
                "unknown status": _final_form(CallStatus="exploded"),
                "bad duration": _final_form(CallDuration="-1")}[case]
        headers = {"X-Twilio-Signature": signer.compute_signature(url, form)}
        expected = 400
    redis_client.zadd(SLOTS_KEY, {attempt: time.time() * 1000 + 60_000})
    answer = httpx.post(url, data=form, headers=headers, timeout=30)
    assert answer.status_code == expected, answer.text
    assert answer.text  # a clear reason
    assert _attempts(ledger, attempt) == [] and _unanswered_today(redis_client) == 0
    assert redis_client.zscore(SLOTS_KEY, attempt) is not None  # the slot is not freed by a forgery


def test_the_answered_webhook_refuses_what_the_carrier_did_not_sign(line):
    ticket = DialTickets(LINK_KEY, 1800).issue(DialTicket(BORROWER, _attempt(), "overdue_gentle"))
    url, form = _ticket_url(line.gateway.url, "outbound", ticket), {"CallSid": "CA" + "b" * 32, "AnsweredBy": "human"}
    refused = httpx.post(url, data=form, headers={"X-Twilio-Signature": "bm90IHNpZ25lZA=="}, timeout=30)
    assert refused.status_code == 403 and "call_token" not in refused.text
    forged = _ticket_url(line.gateway.url, "outbound", ticket[:-4] + "AAAA")
    refused = httpx.post(forged, data=form, timeout=30,
                         headers={"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(forged, form)})
    assert refused.status_code == 403 and "call_token" not in refused.text


def test_a_repeated_final_callback_is_recorded_once(line, ledger, redis_client):
    attempt = _attempt()
    url = _ticket_url(line.gateway.url, "status", DialTickets(LINK_KEY, 1800).issue(DialTicket(BORROWER, attempt, "overdue_gentle")))
    form = _final_form(CallStatus="busy")
    headers = {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(url, form)}
    answers = [httpx.post(url, data=form, headers=headers, timeout=30).text for _ in range(3)]
    assert answers == ["recorded", "already_recorded", "already_recorded"]
    assert [o for o, _ in _attempts(ledger, attempt)] == ["busy", "unanswered"]
    assert _unanswered_today(redis_client) == 1


# ---- the answered contact --------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_a_streamed_call_reserves_an_answered_contact_once_and_then_completes(line, ledger, redis_client):
    attempt = _attempt()
    party = CallParty(BORROWER, attempt_id=attempt, script="overdue_gentle")
    assert await line.outbound.admit(party) is True
    assert await line.outbound.admit(party) is None  # a second stream for the same call
    assert int(redis_client.get(f"cp:cn:ans:{BORROWER}:{TODAY}")) == 1
    await line.outbound.report(_final_form(CallStatus="completed", AnsweredBy="human", CallDuration="95"),
                               DialTicket(BORROWER, attempt, "overdue_gentle"))
    recorded = _attempts(ledger, attempt)
    assert [o for o, _ in recorded] == ["answered", "call_completed"] and "95 s" in recorded[1][1]
    assert _unanswered_today(redis_client) == 0


@pytest.mark.asyncio
async def test_an_answered_call_over_the_cap_is_declined_and_not_counted_again(line, ledger, redis_client):
    redis_client.set(f"cp:cn:ans:{BORROWER}:{TODAY}", 3)  # three conversations today: the cap
    attempt = _attempt()
    assert await line.outbound.admit(CallParty(BORROWER, attempt_id=attempt, script="overdue_gentle")) is False
    await line.outbound.report(_final_form(CallStatus="completed", AnsweredBy="human", CallDuration="6"),
                               DialTicket(BORROWER, attempt, "overdue_gentle"))
    recorded = _attempts(ledger, attempt)
    assert [o for o, _ in recorded] == ["refused_by_policy", "declined_by_policy"]
    assert "daily_answered_cap" in recorded[0][1]
    assert int(redis_client.get(f"cp:cn:ans:{BORROWER}:{TODAY}")) == 3 and _unanswered_today(redis_client) == 0


@pytest.mark.asyncio
async def test_without_redis_an_answered_call_is_declined(ledger, sessions, redis_client, unit_redis_url):
    down = f"redis://127.0.0.1:{_free_port()}/0"
    settings = _dialer_settings()
    async_redis = connect(down)
    outbound = OutboundCalls(
        settings, CarrierSignatures(VoiceSettings(twilio_auth_token=AUTH_TOKEN)), CallTokens(LINK_KEY, 300), ledger,
        AuditTrail(sessions, b"a" * 32), ContactPolicy(redis.Redis.from_url(down), ledger, load_config()), async_redis,
        CallSlots(async_redis, 1, 60), lambda: NOW)
    assert await outbound.admit(CallParty(BORROWER, attempt_id=_attempt(), script="overdue_gentle")) is False


@pytest.mark.parametrize("status, answered_by, streamed, outcome, unanswered", [
    ("completed", "human", "admitted", "call_completed", False),
    ("completed", "human", "declined", "declined_by_policy", False),
    ("completed", "machine_end_silence", None, "answering_machine", True),
    ("completed", "fax", None, "answering_machine", True),
    ("completed", "human", None, "ended_before_conversation", True),
    ("no-answer", "", None, "no_answer", True),
    ("canceled", "", None, "canceled", True),
])
def test_final_status_to_outcome(status, answered_by, streamed, outcome, unanswered):
    result = call_outcome(status, answered_by, streamed)
    assert (result.outcome, result.unanswered) == (outcome, unanswered)

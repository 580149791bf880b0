"""Calls our dialer places, end to end: TwilioDialer → the fake Twilio (tests/fakes/twilio_carrier.py) → the
stack's gateway (/voice/twilio/outbound, the media stream, /voice/twilio/status) → Rasa, the ledger and the
contact caps in the stack's Redis. A person answers and verifies with fixture audio and keyed digits; another
number rings out; a third is an answering machine. Each attempt's outcome is in the ledger under its id."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
import redis
from sqlalchemy import update

from bot.redis_connection import connect
from campaigns.call_slots import SLOTS_KEY, CallSlots
from campaigns.dial_tickets import DialTickets
from campaigns.dialer import CallRequest
from campaigns.twilio_dialer import TwilioDialer
from compliance_filters.contact_policy import _hash_phone
from configuration.settings import DialerSettings
from ledger.db import make_engine
from ledger.models import LoanAccount
from ledger.phones import e164
from tests.e2e.chat import CARRIER_AUTH_TOKEN, LINK_KEY, discloses_debt
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, rms, stored_transcript
from tests.fakes.twilio_carrier import Answer, FakeTwilio, Machine, NoAnswer
from tests.stack import TODAY

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

ACCOUNT_SID = "AC" + "e2" * 16
OUR_NUMBER = "+864000000000"


@pytest.fixture(scope="module")
def fake_twilio(redis_url):
    with FakeTwilio(ACCOUNT_SID, CARRIER_AUTH_TOKEN, redis_url) as carrier:
        yield carrier


@pytest_asyncio.fixture
async def dialer(stack, fake_twilio, redis_url):
    settings = DialerSettings(account_sid=ACCOUNT_SID, from_number=OUR_NUMBER, api_base=fake_twilio.base_url,
                              machine_policy="leave_message")
    slots_redis = connect(redis_url)
    async with httpx.AsyncClient() as client:
        yield TwilioDialer(settings, CARRIER_AUTH_TOKEN, stack.gateway_url,
                           DialTickets(LINK_KEY.encode("utf-8"), settings.max_call_seconds),
                           CallSlots(slots_redis, settings.max_concurrent_calls, settings.max_call_seconds), client)
    await slots_redis.aclose()


def _outcomes(ledger, borrower_id: str, attempt: str) -> list[str]:
    return [row.outcome for row in ledger.contact_attempts_for(borrower_id) if row.conversation_id == attempt]


def _counter(redis_url: str, key: str) -> int:
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        return int(client.get(key) or 0)


def _slot_held(redis_url: str, attempt: str) -> bool:
    with redis.Redis.from_url(redis_url) as client:
        return client.zscore(SLOTS_KEY, attempt) is not None


async def _dtmf(carrier: FakeCarrier, digits: str) -> None:
    for digit in digits:
        await carrier.send_json({"event": "dtmf", "streamSid": carrier.stream_sid, "sequenceNumber": "9",
                                 "dtmf": {"track": "inbound_track", "digit": digit}})


async def test_an_answered_call_opens_with_the_bot_and_the_borrower_verifies(
        stack, fake_twilio, dialer, ledger, borrowers, redis_url):
    borrower, _ = borrowers.take(keyable_id=True)
    number, attempt = e164(borrowers.number_of(borrower.borrower_id)), uuid.uuid4().hex

    async def borrower_answers(carrier: FakeCarrier) -> None:
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS  # the bot speaks first
        await carrier.say_fixture("d02.wav")  # 对，我就是张伟本人。
        await carrier.bot_reply()
        await _dtmf(carrier, borrower.id_last4)
        assert rms(await carrier.bot_reply()) > AUDIBLE_RMS

    fake_twilio.behaviours[number] = Answer(borrower_answers, borrower.borrower_id)
    placed = await dialer.place_call(CallRequest(attempt, borrower.borrower_id, number, "overdue_gentle"))
    call = await asyncio.to_thread(fake_twilio.finished, placed.provider_call_id, 240)

    assert call.statuses == ["initiated", "ringing", "in-progress", "completed"]
    said = stored_transcript(redis_url, attempt)  # the attempt's id is the conversation's
    bot_said = [entry["text"] for entry in said if entry["speaker"] == "bot"]
    first_borrower_turn = next(n for n, entry in enumerate(said) if entry["speaker"] == "borrower")
    opening = " ".join(entry["text"] for entry in said[:first_borrower_turn])
    assert first_borrower_turn > 0 and "本人吗" in opening, said  # the bot spoke first, and asks for the borrower
    assert not discloses_debt(opening)
    assert any("核实通过" in text for text in bot_said), bot_said
    assert _outcomes(ledger, borrower.borrower_id, attempt) == ["answered", "right_party_verified", "call_completed"]
    assert _counter(redis_url, f"cp:cn:ans:{borrower.borrower_id}:{TODAY.isoformat()}") == 1
    assert _counter(redis_url, f"cp:cn:una:{_hash_phone(number)}:{TODAY.isoformat()}") == 0
    assert not _slot_held(redis_url, attempt)
    tracker = httpx.get(f"{stack.rasa_url}/conversations/{attempt}/tracker",
                        params={"token": stack.config.rasa_token}, timeout=30).json()
    scripts = {event["metadata"].get("call_script") for event in tracker["events"] if event["event"] == "user"}
    assert scripts == {"overdue_gentle"}, scripts


async def _answer_and_verify(fake_twilio, dialer, borrowers, redis_url, borrower, script: str, reason: str) -> str:
    """The borrower answers a call placed with `script`, verifies (fixture audio, keyed digits) and hears the bot out
    until `reason` has been played; the call's bot lines as stored, in order, one string."""
    number, attempt = e164(borrowers.number_of(borrower.borrower_id)), uuid.uuid4().hex

    async def borrower_answers(carrier: FakeCarrier) -> None:
        await carrier.bot_reply()  # the neutral opening
        await carrier.say_fixture("d02.wav")  # 对，我就是张伟本人。
        await carrier.bot_reply()
        await _dtmf(carrier, borrower.id_last4)
        await carrier.heard(reason)

    fake_twilio.behaviours[number] = Answer(borrower_answers, borrower.borrower_id)
    placed = await dialer.place_call(CallRequest(attempt, borrower.borrower_id, number, script))
    call = await asyncio.to_thread(fake_twilio.finished, placed.provider_call_id, 240)
    assert call.statuses[-1] == "completed", call.statuses
    return "\n".join(entry["text"] for entry in stored_transcript(redis_url, attempt) if entry["speaker"] == "bot")


async def test_a_firm_overdue_call_gives_the_firm_but_lawful_reason_after_verification(
        stack, fake_twilio, dialer, borrowers, redis_url):
    """The strategy's script variant reaches what the borrower hears: the facts and the policy's next steps."""
    borrower, account = borrowers.take(keyable_id=True)
    said = await _answer_and_verify(fake_twilio, dialer, borrowers, redis_url, borrower, "overdue_firm", "需要尽快处理")
    verified, reason = said.index("核实通过"), said.index("需要尽快处理")
    assert verified < reason, said
    assert not discloses_debt(said[:verified])
    assert f"已逾期{(TODAY - account.due_date).days}天" in said[verified:] and "最晚可以约定在" in said[verified:]
    assert "今天给您来电，是想提醒您" not in said  # not the gentle wording


async def test_a_reminder_call_before_the_due_date_is_a_friendly_reminder(
        stack, fake_twilio, dialer, borrowers, redis_url, ledger_url):
    borrower, account = borrowers.take(keyable_id=True)
    due = TODAY + timedelta(days=3)
    engine = make_engine(ledger_url)
    with engine.begin() as connection:  # a pre-due account, as the D-3 reminder campaign reaches it
        connection.execute(update(LoanAccount).where(LoanAccount.account_id == account.account_id).values(due_date=due))
    engine.dispose()
    said = await _answer_and_verify(fake_twilio, dialer, borrowers, redis_url, borrower, "reminder", "温馨提醒")
    verified = said.index("核实通过")
    assert verified < said.index("温馨提醒"), said
    assert f"还款日是{due.month}月{due.day}日" in said[verified:] and "逾期" not in said


async def test_a_call_nobody_answers_counts_against_the_numbers_unanswered_cap(
        fake_twilio, dialer, ledger, borrowers, redis_url):
    borrower, _ = borrowers.take()
    number, attempt = e164(borrowers.number_of(borrower.borrower_id)), uuid.uuid4().hex
    fake_twilio.behaviours[number] = NoAnswer()
    placed = await dialer.place_call(CallRequest(attempt, borrower.borrower_id, number, "reminder"))
    call = await asyncio.to_thread(fake_twilio.finished, placed.provider_call_id)
    assert call.statuses == ["initiated", "ringing", "no-answer"] and call.twiml is None
    assert _outcomes(ledger, borrower.borrower_id, attempt) == ["no_answer", "unanswered"]
    assert _counter(redis_url, f"cp:cn:una:{_hash_phone(number)}:{TODAY.isoformat()}") == 1
    assert not _slot_held(redis_url, attempt)


async def test_an_answering_machine_hears_only_the_limited_content_message(
        fake_twilio, dialer, ledger, borrowers, redis_url):
    borrower, _ = borrowers.take()
    number, attempt = e164(borrowers.number_of(borrower.borrower_id)), uuid.uuid4().hex
    fake_twilio.behaviours[number] = Machine()
    placed = await dialer.place_call(CallRequest(attempt, borrower.borrower_id, number, "overdue_gentle"))
    call = await asyncio.to_thread(fake_twilio.finished, placed.provider_call_id)
    assert call.said == [DialerSettings().machine_message_text] and call.twiml.find("Connect") is None
    assert not discloses_debt(call.said[0]) and borrower.full_name not in call.said[0]
    assert _outcomes(ledger, borrower.borrower_id, attempt) == ["answering_machine", "unanswered"]
    assert _counter(redis_url, f"cp:cn:una:{_hash_phone(number)}:{TODAY.isoformat()}") == 1
    assert not _slot_held(redis_url, attempt)

"""How a phone call arrives (issue 10, finding 5: "the number on file for calls"): only the carrier, proving it
with its signature, reaches the voice webhook and the media stream; a call is put through to a borrower's
conversation only when the number on file is the caller's (or, on a call the lender's dialer placed, the number
dialled); and a media stream cannot name a borrower of its own choosing.
"""
from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets
from sqlalchemy.orm import Session

from ledger.db import make_engine
from ledger.models import Borrower
from tests.e2e.chat import borrower_link, discloses_debt
from tests.e2e.phone import AUDIBLE_RMS, FakeCarrier, carrier_signature, phone_conversation, ring, rms

pytestmark = pytest.mark.e2e

NUMBER_ON_NO_FILE = "+8617099990000"


def _call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def _said(twiml) -> str:
    return " ".join(say.text or "" for say in twiml.findall("Say"))


def _webhook(stack) -> str:
    return stack.gateway_url + "/voice/twilio/incoming"


def _form(number: str) -> dict[str, str]:
    return {"CallSid": _call_sid(), "From": number, "To": "+864000000000", "Direction": "inbound"}


@pytest.mark.asyncio
async def test_a_call_from_the_number_on_file_however_written_reaches_that_borrowers_conversation(
        stack, borrowers, redis_url):
    borrower, _ = borrowers.take()
    on_file = borrowers.number_of(borrower.borrower_id)  # e.g. 13800051234, as the seed writes it
    spelled_by_the_carrier = f"+86 {on_file[:3]}-{on_file[3:7]}-{on_file[7:]}"
    twiml = ring(stack.gateway_url, spelled_by_the_carrier, _call_sid())
    stream = twiml.find("./Connect/Stream")
    assert stream is not None and stream.get("url").endswith("/voice/twilio")
    async with FakeCarrier(stack.gateway_url, borrower.borrower_id, spelled_by_the_carrier, redis_url=redis_url) as call:
        assert rms(await call.bot_reply()) > AUDIBLE_RMS
        opening = " ".join(entry["text"] for entry in await call.transcript() if entry["speaker"] == "bot")
    assert "本人吗" in opening, opening  # the opening itself, not a fault reply (also audible)
    assert phone_conversation(redis_url, borrower.borrower_id)  # the gateway opened it for this borrower


def test_a_call_our_dialer_placed_is_put_through_to_the_number_dialled(stack, borrowers):
    borrower, _ = borrowers.take()
    twiml = ring(stack.gateway_url, borrowers.number_of(borrower.borrower_id), _call_sid(), direction="outbound-api")
    assert twiml.find("./Connect/Stream/Parameter[@name='call_token']") is not None


def test_a_caller_whose_number_is_on_no_file_hears_a_neutral_line_and_no_conversation_starts(stack):
    twiml = ring(stack.gateway_url, NUMBER_ON_NO_FILE, _call_sid())
    assert twiml.find("Connect") is None and twiml.find("Hangup") is not None
    said = _said(twiml)
    assert said and not discloses_debt(said) and "贷" not in said


def test_a_number_two_borrowers_share_puts_the_call_through_to_neither(stack, borrowers, ledger_url):
    """A shared family line: the gateway cannot tell which borrower is calling, so it names none."""
    borrower, _ = borrowers.take()
    shared = borrowers.number_of(borrower.borrower_id)
    relative = f"T{uuid.uuid4().hex[:12].upper()}"
    engine = make_engine(ledger_url)
    with Session(engine) as session, session.begin():
        session.add(Borrower(borrower_id=relative, full_name="共用号码", id_number_masked="110101********0000",
                             date_of_birth=borrower.date_of_birth, phone=shared))
    engine.dispose()
    twiml = ring(stack.gateway_url, shared, _call_sid())
    assert twiml.find("Connect") is None and _said(twiml)


@pytest.mark.parametrize("signature", ["missing", "wrong token", "another request's"])
def test_a_webhook_request_not_signed_by_the_carrier_is_refused(stack, borrowers, signature):
    borrower, _ = borrowers.take()
    form = _form(borrowers.number_of(borrower.borrower_id))
    headers = {
        "missing": {},
        "wrong token": {"X-Twilio-Signature": "bm90IHRoZSBjYXJyaWVyJ3Mgc2lnbmF0dXJl"},
        # signed for another caller's number: a signature covers the form, not only the URL
        "another request's": {"X-Twilio-Signature": carrier_signature(_webhook(stack), _form(NUMBER_ON_NO_FILE))},
    }[signature]
    answer = httpx.post(_webhook(stack), data=form, headers=headers, timeout=60)
    assert answer.status_code == 403
    assert "Stream" not in answer.text and "call_token" not in answer.text


@pytest.mark.asyncio
async def test_a_media_stream_without_the_carriers_signature_is_refused_at_the_handshake(stack):
    url = stack.gateway_url.replace("http://", "ws://") + "/voice/twilio"
    for headers in ({}, {"X-Twilio-Signature": carrier_signature(url + "?other=1")}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403


@pytest.mark.asyncio
@pytest.mark.parametrize("parameters", ["none", "a borrower id", "a chat link", "a forged token"])
async def test_a_signed_stream_cannot_name_a_borrower_of_its_choosing(stack, parameters):
    custom = {
        "none": {},
        "a borrower id": {"borrower_id": "B000001"},
        "a chat link": {"call_token": borrower_link("B000001")},  # same key, another use: no call token
        "a forged token": {"call_token": borrower_link("B000001").rsplit(".", 1)[0] + ".forged"},
    }[parameters]
    url = stack.gateway_url.replace("http://", "ws://") + "/voice/twilio"
    async with websockets.connect(url, additional_headers={"X-Twilio-Signature": carrier_signature(url)}) as socket:
        await socket.send(json.dumps({"event": "start", "streamSid": "MZ1", "start": {
            "streamSid": "MZ1", "callSid": _call_sid(), "customParameters": custom}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await socket.recv()
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "invalid_call_token")

"""The phone arrival's parts: numbers matched to the number on file, the carrier's signatures checked against
the address it used, call tokens that name a borrower for a stream and nothing else."""
from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from bot.channels.phone_arrival import CallTokens, CarrierSignatures, PhoneArrival
from bot.links import BorrowerLinks
from configuration.settings import VoiceSettings
from voice.call import CallParty
from ledger.db import create_schema, make_engine, make_session_factory
from ledger.models import Borrower
from ledger.phones import e164
from ledger.repository import Ledger

TOKEN = "carrier-auth-token"
KEY = b"k" * 32


@pytest.mark.parametrize("written, normalised", [
    ("13800015210", "+8613800015210"),
    ("138 0001 5210", "+8613800015210"),
    ("+86-138-0001-5210", "+8613800015210"),
    ("008613800015210", "+8613800015210"),
    ("+1-202-555-0143", "+12025550143"),
    ("+1 (202) 555-0143", "+12025550143"),
    ("138****5210", None),  # a masked number on file matches no caller
    ("", None),
    ("anonymous", None),
    ("12", None),
])
def test_numbers_are_compared_in_one_form(written, normalised):
    assert e164(written) == normalised


def _borrower(borrower_id: str, phone: str) -> Borrower:
    return Borrower(borrower_id=borrower_id, full_name="测试", id_number_masked="110101********0000",
                    date_of_birth=date(1990, 1, 1), phone=phone)


def test_the_index_follows_every_write_and_covers_a_database_from_before_it():
    engine = make_engine("sqlite://")
    create_schema(engine)
    ledger = Ledger(make_session_factory(engine))
    with Session(engine) as session, session.begin():
        session.add_all([_borrower("B1", "138 0001 5210"), _borrower("B2", "+8613800015210"),
                         _borrower("B3", "139****7781")])
    assert ledger.borrowers_at_number("+8613800015210") == ["B1", "B2"]
    with Session(engine) as session, session.begin():
        session.get(Borrower, "B2").phone = "13900027781"  # a new number on file
    assert ledger.borrowers_at_number("+8613800015210") == ["B1"]
    assert ledger.borrowers_at_number("13900027781") == ["B2"]
    assert ledger.borrowers_at_number("anonymous") == []
    with engine.begin() as connection:  # as a ledger written before the index existed
        connection.execute(text("DELETE FROM borrower_phones"))
    create_schema(engine)  # every process creates the schema at start, and indexes what is missing
    assert ledger.borrowers_at_number("13800015210") == ["B1"]


def _settings(**changes) -> VoiceSettings:
    return VoiceSettings(twilio_auth_token=TOKEN, **changes)


def test_a_signature_is_checked_against_the_address_the_carrier_used():
    behind_proxy = CarrierSignatures(_settings(public_url="https://collect.lender.example"))
    signed = RequestValidator(TOKEN).compute_signature("wss://collect.lender.example/voice/twilio", {})
    assert behind_proxy.genuine("ws://127.0.0.1:8000/voice/twilio", {}, signed)
    assert not CarrierSignatures(_settings()).genuine("ws://127.0.0.1:8000/voice/twilio", {}, signed)
    form = {"From": "+8613800015210", "CallSid": "CA1"}
    signed_form = RequestValidator(TOKEN).compute_signature("https://collect.lender.example/voice/twilio/incoming", form)
    assert behind_proxy.genuine("http://127.0.0.1:8000/voice/twilio/incoming", form, signed_form)
    assert not behind_proxy.genuine("http://127.0.0.1:8000/voice/twilio/incoming", {**form, "From": "+1"}, signed_form)


def test_without_an_auth_token_no_request_is_genuine():
    signatures = CarrierSignatures(VoiceSettings())
    assert not signatures.enabled
    assert not signatures.genuine("ws://h/voice/twilio", {}, RequestValidator("").compute_signature("ws://h/voice/twilio", {}))


def test_a_call_token_names_its_borrower_for_a_stream_only():
    tokens = CallTokens(KEY, lifetime_seconds=60)
    token = tokens.issue("B000001")
    assert tokens.party_of({"call_token": token}) == CallParty("B000001")
    assert tokens.party_of({}) is None
    assert tokens.party_of({"call_token": BorrowerLinks(KEY).issue("B000001")}) is None  # a chat link
    with pytest.raises(ValueError):
        BorrowerLinks(KEY).admit(token)  # and a call token opens no chat
    assert CallTokens(KEY, lifetime_seconds=-1).party_of({"call_token": CallTokens(KEY, -1).issue("B1")}) is None


def test_a_call_token_of_a_dialled_call_names_the_attempt_and_script_too():
    tokens = CallTokens(KEY, lifetime_seconds=60)
    token = tokens.issue_outbound("B000001", "a1b2c3d4e5f6", "overdue_gentle")
    assert tokens.party_of({"call_token": token}) == CallParty("B000001", attempt_id="a1b2c3d4e5f6", script="overdue_gentle")
    with pytest.raises(ValueError):
        BorrowerLinks(KEY).admit(token)  # no chat link either
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert tokens.party_of({"call_token": tampered}) is None


def test_the_webhook_answer_puts_through_one_borrower_or_says_the_neutral_line():
    numbers = {"+8613800015210": ["B000001"], "+8613900027781": ["B000002", "B000009"]}
    arrival = PhoneArrival(_settings(public_url="https://collect.lender.example"), KEY,
                           lambda number: numbers.get(e164(number) or "", []))
    webhook = "http://127.0.0.1:8000/voice/twilio/incoming"
    put_through = ElementTree.fromstring(arrival.answer(webhook, {"From": "13800015210", "Direction": "inbound"}))
    stream = put_through.find("./Connect/Stream")
    assert stream.get("url") == "wss://collect.lender.example/voice/twilio"
    token = stream.find("Parameter[@name='call_token']").get("value")
    assert arrival.tokens.party_of({"call_token": token}) == CallParty("B000001")
    dialled = ElementTree.fromstring(arrival.answer(webhook, {"From": "+864000000000", "To": "+8613800015210",
                                                              "Direction": "outbound-api"}))
    assert dialled.find("./Connect/Stream") is not None
    for unknown in ({"From": "+8613900027781"}, {"From": "+8617099990000"}, {}):  # shared line, no file, no number
        neutral = ElementTree.fromstring(arrival.answer(webhook, unknown))
        assert neutral.find("Connect") is None and neutral.find("Say").text == VoiceSettings().unknown_caller_text

"""The agent line setting, the transfer TwiML, and Twilio's call update refused at the HTTP boundary (the
accepted transfer of a live call runs end to end in tests/e2e/test_call_handover.py)."""
from __future__ import annotations

from xml.etree import ElementTree

import httpx
import pytest
from pydantic import ValidationError

from bot.channels.call_transfer import AgentLine, transfer_twiml
from campaigns.dialer import DialerError
from campaigns.twilio_dialer import TwilioCalls
from bot.services import agent_line_and_carrier
from configuration.settings import DialerSettings, HandoffSettings, Settings, VoiceSettings
from tests.fakes.twilio_carrier import FakeTwilio

ACCOUNT_SID = "AC" + "3c" * 16
AUTH_TOKEN = "unit-transfer-token"
SOME_CALL = "CA" + "0f" * 16


@pytest.mark.parametrize(("setting", "kind", "address"), [
    ("+861088886666", "number", "+861088886666"),
    ("sip:agents@pbx.lender.example", "sip", "sip:agents@pbx.lender.example"),
    ("sips:agents@pbx.lender.example;transport=tls", "sip", "sips:agents@pbx.lender.example;transport=tls"),
    ("queue:collections", "queue", "collections"),
    ("conference:collections-desk", "conference", "collections-desk"),
])
def test_an_agent_line_is_a_number_a_sip_address_a_queue_or_a_conference(setting, kind, address):
    line = AgentLine.parse(HandoffSettings(agent_line=setting).agent_line)
    assert (line.kind, line.address) == (kind, address)


@pytest.mark.parametrize("setting", ["861088886666", "+0123", "queue:", "queue:two words", "tel:+8610", "sip:<x>",
                                     "conference:a&b"])
def test_anything_else_stops_the_start(setting):
    with pytest.raises(ValidationError, match="agent_line"):
        HandoffSettings(agent_line=setting)


@pytest.mark.parametrize(("setting", "noun", "text"), [
    ("+861088886666", "Number", "+861088886666"), ("sip:agents@pbx.lender.example", "Sip", "sip:agents@pbx.lender.example"),
    ("queue:collections", "Queue", "collections"), ("conference:desk", "Conference", "desk"),
])
def test_the_transfer_dials_the_line(setting, noun, text):
    """Only the <Dial>: the caller has already heard the transfer sentence on the call, through the egress."""
    twiml = ElementTree.fromstring(transfer_twiml(AgentLine.parse(setting)))
    assert [child.tag for child in twiml] == ["Dial"]
    assert [(target.tag, target.text) for target in twiml.find("Dial")] == [(noun, text)]


@pytest.mark.asyncio
async def test_a_refused_or_unreachable_update_is_a_dialer_error(unit_redis_url):
    with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, unit_redis_url) as fake:
        settings = DialerSettings(account_sid=ACCOUNT_SID, api_base=fake.base_url)
        async with httpx.AsyncClient() as client:
            with pytest.raises(DialerError, match="404"):  # no such live call
                await TwilioCalls(settings, AUTH_TOKEN, client).redirect(SOME_CALL, "<Response/>")
            with pytest.raises(DialerError, match="401"):
                await TwilioCalls(settings, "not-the-token", client).redirect(SOME_CALL, "<Response/>")
            with pytest.raises(DialerError, match="not a Twilio call id"):
                await TwilioCalls(settings, AUTH_TOKEN, client).redirect("../Calls", "<Response/>")
        assert fake.refused == [404, 401] and fake.updates == []
    async with httpx.AsyncClient() as client:
        with pytest.raises(DialerError, match="could not be reached"):
            await TwilioCalls(settings, AUTH_TOKEN, client).redirect(SOME_CALL, "<Response/>")


def test_with_the_gateway_public_the_dial_reports_how_it_ended():
    url = "https://gateway.lender.example/voice/twilio/transfer-ended?ticket=abc"
    dial = ElementTree.fromstring(transfer_twiml(AgentLine.parse("queue:collections"), url)).find("Dial")
    assert (dial.get("action"), dial.get("method")) == (url, "POST")


def test_an_agent_line_without_the_carrier_account_stops_the_start():
    settings = Settings(handoff=HandoffSettings(agent_line="+861088886666"), dialer=DialerSettings(),
                        voice=VoiceSettings())
    with pytest.raises(ValueError, match="COLLECTIONS_DIALER_ACCOUNT_SID, COLLECTIONS_VOICE_TWILIO_AUTH_TOKEN"):
        agent_line_and_carrier(settings, lambda resource: resource)
    assert agent_line_and_carrier(Settings(handoff=HandoffSettings()), lambda resource: resource) == (None, None)
